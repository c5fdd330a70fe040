/**
 * `citusctl up`: validate, preflight the images, then start (or attach to) the setup workflow
 * `setup-<cluster>` and follow its progress.
 */
import Docker from 'dockerode';
import { workflowInput } from '../common/inputs';
import type { ClusterSpec } from '../common/spec';
import { SecretStore } from '../lib/secrets';
import { stateDir } from '../lib/state-dir';
import type { SetupClusterResult } from '../workflows/setup-cluster';
import { workerLog } from '../lib/supervised-worker-files';
import { startMonitor } from './monitor';
import { preflightImages } from './preflight';
import { runWorkflow, type RunReport } from './run-workflow';
import { METRICS_PORT_ENV } from '../worker/metrics-server';
import { ensureSupervisedWorker, waitForWarmWorker } from './supervised-worker';
import { setupWorkflowId } from './temporal-client';

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

export type UpReport = RunReport<SetupClusterResult> & { pgpass: string };

export async function up(spec: ClusterSpec, opts: UpOptions, log: (line: string) => void): Promise<UpReport> {
  const finalSpec = await preflightImages(new Docker(), spec, process.env, log, opts.json ? 'stderr' : 'inherit');
  // Started first, so it warms up while the setup runs; the setup itself does not wait for it.
  const supervised = opts.monitor !== false ? await ensureSupervisedWorker(stateDir(), { ...process.env, [METRICS_PORT_ENV]: String(finalSpec.metrics.port) }, log) : undefined;
  const report = await runWorkflow<SetupClusterResult>({
    workflowType: 'setupCluster',
    workflowId: setupWorkflowId(finalSpec.name),
    // The spec file is the operator's: applying it to an existing cluster is a declared change.
    args: [workflowInput('setupCluster', { spec: finalSpec, clean: opts.clean ?? false, force: opts.force ?? false, applySpecChange: true, ...(opts.rebalance === false ? { rebalance: false } : {}) })],
    json: opts.json,
    worker: opts.worker,
    log,
  });
  const pgpass = await new SecretStore(stateDir()).writeHostPgpass(finalSpec.name, { postgres: finalSpec.members.map((m) => m.port), pgbouncer: finalSpec.pgbouncer.port });
  if (opts.monitor === false) return { ...report, pgpass };
  await startMonitor(finalSpec, log); // the self-healing monitor, idempotently
  if (!(await waitForWarmWorker(stateDir(), 30_000))) log(`worker: the supervised worker (pid ${supervised?.pid}) does not poll yet; see ${workerLog(stateDir())}`);
  return { ...report, pgpass };
}
