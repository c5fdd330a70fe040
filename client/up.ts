/**
 * `citusctl up`: validate, preflight the images, then start (or attach to) the setup workflow
 * `setup-<cluster>` and follow its progress; then the self-healing: monitor, health schedule and the
 * supervised worker they need.
 *
 * What the self-healing costs overlaps the setup: the supervised worker is started first, loads while
 * the images are checked, and runs the setup itself (no in-process worker is loaded beside it, unless
 * it does not poll in time); its standby is held back until the setup is done (CPU the setup needs),
 * and its monitor queue's Worker until the setup is past its first steps (they run on that worker).
 */
import { workflowInput } from '../common/inputs';
import type { ClusterSpec } from '../common/spec';
import { stateDir } from '../lib/state-dir';
import { unbuildableHosts } from '../common/hosts';
import { isMultiHost } from '../common/addressing';
import { hostsStatus } from './status-hosts';
import { PreflightError } from './preflight-error';
import type { SetupClusterResult } from '../workflows/setup-cluster';
import { holdMonitorWorker, holdStandby, workerLog } from '../lib/supervised-worker-files';
import type { RunReport } from './run-workflow';
import { METRICS_PORT_ENV } from '../worker/metrics-server';
import {
  ensureSupervisedWorker,
  stopSupervisedWorker,
  waitForSupervisedWorker,
  waitForWarmWorker,
  warmWorker,
  type EnsureWorkerReport,
} from './supervised-worker';
import { setupWorkflowId } from '../common/workflow-ids';
import { setupPastFirstSteps, setupStarted } from '../common/setup-phase';

/*
 * What only the steps after the supervised worker's start need (Docker, the Temporal client: ~0.5
 * CPU-second to load) is loaded then, so that worker starts loading that much sooner.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const later = () => ({
  Docker: require('dockerode') as typeof import('dockerode'),
  ...(require('../lib/secrets') as typeof import('../lib/secrets')),
  ...(require('./monitor') as typeof import('./monitor')),
  ...(require('./preflight') as typeof import('./preflight')),
  ...(require('./preflight-repository') as typeof import('./preflight-repository')),
  ...(require('./run-workflow') as typeof import('./run-workflow')),
  ...(require('../lib/tls/tls-store') as typeof import('../lib/tls/tls-store')),
});
/* eslint-enable @typescript-eslint/no-require-imports */

export interface UpOptions {
  clean?: boolean;
  force?: boolean;
  json?: boolean;
  /** Run an in-process worker: 'auto' (default) runs one unless the supervised worker polls. */
  worker?: boolean | 'auto';
  /** Start the monitor and the supervised worker it needs (default true). */
  monitor?: boolean;
  /** Rebalance onto worker groups that hold no shards yet (default true). */
  rebalance?: boolean;
}

/** caPath: the cluster's trust bundle (sslrootcert of a verify-full client). */
export type UpReport = RunReport<SetupClusterResult> & { pgpass: string; caPath: string };

/**
 * How long the setup waits for a supervised worker that is starting before it loads an in-process
 * worker after all: a cold one polls in 1-3 s on an idle machine, 10 s and more on a busy one.
 */
const SUPERVISED_WORKER_WAIT_MS = 20_000;

export async function up(spec: ClusterSpec, opts: UpOptions, log: (line: string) => void): Promise<UpReport> {
  const hostsRefusal = unbuildableHosts(spec);
  if (hostsRefusal) throw new PreflightError(hostsRefusal);
  if (isMultiHost(spec)) await refuseHostsNotReady(spec);
  const root = stateDir();
  const monitor = opts.monitor !== false;
  // While the setup runs, the supervisor starts no standby: the release is in the finally below.
  const releaseStandby = monitor ? holdStandby(root) : () => undefined;
  // Nor does its worker load the monitor's queue while the setup's first steps run on it (released
  // from the progress below, once the setup creates containers).
  const releaseMonitorWorker = monitor ? holdMonitorWorker(root) : () => undefined;
  let started: () => void = () => undefined;
  const setupRuns = new Promise<boolean>((resolve) => (started = () => resolve(true)));
  try {
    // Started before the image checks, so it loads while they run (the metrics port is the spec's own).
    const supervised = monitor
      ? await ensureSupervisedWorker(root, { ...process.env, [METRICS_PORT_ENV]: String(spec.metrics.port) }, log)
      : undefined;
    const { runWorkflow, SecretStore, TlsStore, startMonitor } = later();
    const finalSpec = await preflightOrStop(spec, opts, supervised, log);
    const report = await runWorkflow<SetupClusterResult>({
      workflowType: 'setupCluster',
      workflowId: setupWorkflowId(finalSpec.name),
      // The spec file is the operator's: applying it to an existing cluster is a declared change.
      args: [
        workflowInput('setupCluster', {
          spec: finalSpec,
          clean: opts.clean ?? false,
          force: opts.force ?? false,
          applySpecChange: true,
          ...(opts.rebalance === false ? { rebalance: false } : {}),
        }),
      ],
      json: opts.json,
      worker: opts.worker,
      // The supervised worker, still loading, runs the setup rather than a second worker loaded here.
      // It writes its record once the monitor's queue polls too: a step seen running means it polls.
      ...(supervised && opts.worker !== true && !warmWorker(root)
        ? {
            awaitWorker: (signal: AbortSignal) =>
              Promise.race([
                waitForSupervisedWorker(root, supervised.pid, SUPERVISED_WORKER_WAIT_MS, signal),
                setupRuns,
              ]),
          }
        : {}),
      onProgress: (p) => {
        if (setupStarted(p.steps)) started();
        if (setupPastFirstSteps(p.steps)) releaseMonitorWorker();
      },
      log,
    });
    releaseMonitorWorker();
    releaseStandby();
    const pgpass = await new SecretStore(root).writeHostPgpass(finalSpec.name, {
      postgres: finalSpec.members.map((m) => m.port),
      pgbouncer: finalSpec.pgbouncer.port,
    });
    const caPath = new TlsStore(root).caPath(finalSpec.name);
    if (!monitor) return { ...report, pgpass, caPath };
    await startMonitor(finalSpec, log); // the self-healing monitor, idempotently
    if (!(await waitForWarmWorker(root, 30_000)))
      log(`worker: the supervised worker (pid ${supervised?.pid}) does not poll yet; see ${workerLog(root)}`);
    return { ...report, pgpass, caPath };
  } finally {
    releaseMonitorWorker();
    releaseStandby();
  }
}

/**
 * Several hosts: every host's engine answers and a worker polls its queue, or `up` refuses before it
 * starts anything (a step sent to a queue nobody polls would wait there for ever).
 */
async function refuseHostsNotReady(spec: ClusterSpec): Promise<void> {
  const status = await hostsStatus(spec);
  const problems = (status?.hosts ?? []).flatMap((h) => [
    ...(h.engine.reachable ? [] : [`${h.name}: its engine ${h.endpoint} does not answer (${h.engine.error})`]),
    ...(h.workerPolling === true
      ? []
      : [
          `${h.name}: no worker polls ${h.taskQueue}` +
            (h.workerError ? ` (Temporal: ${h.workerError})` : '') +
            `: start \`citusctl worker --host ${h.name} -c FILE\` on ${h.name}`,
        ]),
  ]);
  if (problems.length) throw new PreflightError(`hosts not ready, nothing was created:\n  ${problems.join('\n  ')}`);
}

/**
 * The image preflight. A supervised worker this run started for a cluster that cannot be created
 * is stopped again: a failed preflight leaves nothing behind.
 */
async function preflightOrStop(
  spec: ClusterSpec,
  opts: UpOptions,
  supervised: EnsureWorkerReport | undefined,
  log: (line: string) => void,
): Promise<ClusterSpec> {
  // Several hosts: each host's worker resolves the images on its own engine (the setup's images step).
  if (isMultiHost(spec)) return spec;
  try {
    const { Docker, preflightImages, preflightRepository } = later();
    const docker = new Docker();
    const checked = await preflightImages(docker, spec, process.env, log, opts.json ? 'stderr' : 'inherit');
    await preflightRepository(docker, checked, stateDir(), log);
    return checked;
  } catch (err) {
    if (supervised?.started && !supervised.replaced) await stopSupervisedWorker(stateDir()).catch(() => undefined);
    throw err;
  }
}
