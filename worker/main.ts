/**
 * `citusctl worker` / `npm run worker`, and the child of the supervised worker (worker/supervisor.ts):
 * a long-lived worker for workflows started from the Temporal UI, the CLI, schedules and the monitor.
 * Two Workers on one connection: the shared task queue, and the monitor queue of this build (the
 * workflow bundle's hash: common/task-queues.ts). Once they poll, it records itself in
 * `<state>/worker/worker.json`, so a CLI command knows a warm worker is there and starts none of its
 * own, and moves the monitors of this state directory's clusters onto its build
 * (lib/monitor-handoff.ts): a running monitor never replays on code it was not started with.
 * Started as the supervisor's standby, it loads everything and waits to take over before it serves
 * or polls.
 */
import { Client } from '@temporalio/client';
import { storedClusterSpecs, storedClusters } from '../lib/cluster-spec-file';
import { handOffMonitors } from '../lib/monitor-handoff';
import { stateDir } from '../lib/state-dir';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  monitorWorkerHeld,
  removeOwnRecord,
  workerFile,
  workerIdentity,
  writeJson,
} from '../lib/supervised-worker-files';
import { describeSecurity, temporalConnectOptions } from '../lib/temporal-connection';
import { TASK_QUEUE, ensureTemporal, monitorTaskQueue } from '../lib/temporal-server';
import { PrometheusMetrics } from '../lib/metrics';
import { workflowBuild } from './build-id';
import { createDeps } from './deps';
import { installRuntimeWithMetrics, metricsPort, serveMetrics } from './metrics-server';
import { createWorker } from './run-worker';
import { WORKER_ROLE_ENV, tellSupervisorPolling, waitForTurn, whileStandby } from './standby';
import { warmClients } from './warm-up';

export async function runWorkerForever(): Promise<void> {
  const log = (line: string) => console.error(`citusctl worker: ${line}`);
  const turn = waitForTurn(log); // listening from the start: the supervisor may hand over while this loads
  const root = stateDir();
  const endpoint = await ensureTemporal(root);
  const port = metricsPort(process.env);
  const sdkPort = await installRuntimeWithMetrics(log);
  const metrics = new PrometheusMetrics();
  // Counters of every cluster set up here exist at 0 from the start, before any failover is recorded.
  for (const spec of storedClusterSpecs(root)) metrics.clusterKnown(spec);
  const deps = createDeps(process.env, metrics);
  const identity = workerIdentity(process.pid);
  const build = workflowBuild(process.env);
  const monitorQueue = monitorTaskQueue(build);
  const { worker, connection } = await createWorker({
    endpoint,
    deps,
    identity,
  });
  const standby = process.env[WORKER_ROLE_ENV] === 'standby';
  // The first worker of a supervisor loads the monitor's once the `up` that started it is past the
  // setup's first steps (holdMonitorWorker): those run on this process and need its CPU.
  const monitorMayLoad = standby ? Promise.resolve() : whileMonitorWorkerHeld(root, worker);
  const creatingMonitorWorker = monitorMayLoad
    .then(() =>
      createWorker({
        endpoint,
        deps,
        identity,
        taskQueue: monitorQueue,
        connection,
      }),
    )
    .then((c) => c.worker);
  creatingMonitorWorker.catch(() => undefined); // awaited below
  // A standby has everything loaded before it waits. The first worker of a supervisor polls the
  // shared queue as soon as it can (`up` runs its setup there) and loads the monitor's meanwhile.
  if (standby) await creatingMonitorWorker;
  await whileStandby(turn, () => warmClients(deps, root));
  try {
    const sharedRun = worker.run();
    const monitorWorker = await creatingMonitorWorker.catch(async (err: unknown) => {
      stopOther(worker);
      await sharedRun.catch(() => undefined);
      throw err;
    });
    if (worker.getState() !== 'RUNNING') return await sharedRun; // stopped while the monitor's worker loaded
    const metricsUrl = await serveMetrics(metrics, port, sdkPort, log);
    log(
      `build ${build}: task queues "${TASK_QUEUE}" and "${monitorQueue}" on ` +
        endpoint.address +
        (endpoint.embedded ? '' : ` (${describeSecurity(temporalConnectOptions(endpoint, process.env))})`) +
        (endpoint.uiUrl ? `, UI ${endpoint.uiUrl}` : '') +
        (metricsUrl ? `, metrics ${metricsUrl}` : ''),
    );
    // Either ending (SIGINT/SIGTERM, for which the SDK installs the handlers, or a fatal error) stops both.
    const running = Promise.all([
      sharedRun.finally(() => stopOther(monitorWorker)),
      monitorWorker.run().finally(() => stopOther(worker)),
    ]);
    writeJson(workerFile(root), {
      pid: process.pid,
      identity,
      build,
      taskQueues: [TASK_QUEUE, monitorQueue],
      startedAt: new Date().toISOString(),
      ...(metricsUrl ? { metricsUrl } : {}),
    });
    tellSupervisorPolling();
    void handOffOnStart(new Client({ connection, namespace: endpoint.namespace }), root, monitorQueue, log);
    await running;
  } finally {
    removeOwnRecord(workerFile(root), process.pid);
    deps.close();
    await connection.close();
  }
}

function stopOther(w: { getState(): string; shutdown(): void }): void {
  if (w.getState() === 'RUNNING') w.shutdown();
}

/** Resolves once no live `up` holds the monitor's Worker back, or this worker stops (bounded). */
async function whileMonitorWorkerHeld(root: string, worker: { getState(): string }, maxMs = 600_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  const serving = () => ['INITIALIZED', 'RUNNING'].includes(worker.getState());
  while (monitorWorkerHeld(root) && serving() && Date.now() < deadline) await sleep(200);
}

/** Moves this state directory's running monitors onto this build; retried while Temporal is not there. */
async function handOffOnStart(
  client: Client,
  root: string,
  monitorQueue: string,
  log: (line: string) => void,
): Promise<void> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    const reports = await handOffMonitors(client, await storedClusters(root), monitorQueue);
    for (const r of reports)
      if ('error' in r || r.action !== 'none')
        log(`monitor-${r.cluster}: ${'error' in r ? `hand-off failed: ${r.error}` : `${r.action}: ${r.detail}`}`);
    if (!reports.some((r) => 'error' in r)) return;
    await new Promise((r) => setTimeout(r, 2_000 * attempt));
  }
}

if (require.main === module) {
  runWorkerForever().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
