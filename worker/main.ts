/**
 * `citusctl worker` / `npm run worker`, and the child of the supervised worker (worker/supervisor.ts):
 * a long-lived worker on both task queues, for workflows started from the Temporal UI, the CLI,
 * schedules and the monitor. Once it polls it records itself in `<state>/worker/worker.json`, so
 * a CLI command knows a warm worker is there and starts none of its own. Started as the
 * supervisor's standby, it loads everything and waits to take over before it serves or polls.
 */
import { stateDir } from '../lib/state-dir';
import { removeOwnRecord, workerFile, workerIdentity, writeJson } from '../lib/supervised-worker-files';
import { MONITOR_TASK_QUEUE, TASK_QUEUE, ensureTemporal } from '../lib/temporal-server';
import { PrometheusMetrics } from '../lib/metrics';
import { createDeps } from './deps';
import { installRuntimeWithMetrics, metricsPort, serveMetrics } from './metrics-server';
import { createWorker } from './run-worker';
import { tellSupervisorPolling, waitForTurn, whileStandby } from './standby';
import { warmClients } from './warm-up';

export async function runWorkerForever(): Promise<void> {
  const log = (line: string) => console.error(`citusctl worker: ${line}`);
  const turn = waitForTurn(log); // listening from the start: the supervisor may hand over while this loads
  const root = stateDir();
  const endpoint = await ensureTemporal(root);
  const port = metricsPort(process.env);
  const sdkPort = await installRuntimeWithMetrics(log);
  const metrics = new PrometheusMetrics();
  const deps = createDeps(process.env, metrics);
  const identity = workerIdentity(process.pid);
  const { worker, connection } = await createWorker({ address: endpoint.address, namespace: endpoint.namespace, deps, identity });
  const resident = await createWorker({ address: endpoint.address, namespace: endpoint.namespace, deps, identity, taskQueue: MONITOR_TASK_QUEUE });
  await whileStandby(turn, () => warmClients(deps, root));
  const metricsUrl = await serveMetrics(metrics, port, sdkPort, log);
  log(`task queues "${TASK_QUEUE}" and "${MONITOR_TASK_QUEUE}" on ${endpoint.address}${endpoint.uiUrl ? `, UI ${endpoint.uiUrl}` : ''}${metricsUrl ? `, metrics ${metricsUrl}` : ''}`);
  try {
    const running = Promise.all([worker.run(), resident.worker.run()]); // return after SIGINT/SIGTERM (the SDK installs the handlers)
    writeJson(workerFile(root), { pid: process.pid, identity, taskQueues: [TASK_QUEUE, MONITOR_TASK_QUEUE], startedAt: new Date().toISOString(), ...(metricsUrl ? { metricsUrl } : {}) });
    tellSupervisorPolling();
    await running;
  } finally {
    removeOwnRecord(workerFile(root), process.pid);
    deps.close();
    await connection.close();
    await resident.connection.close();
  }
}

if (require.main === module) {
  runWorkerForever().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
