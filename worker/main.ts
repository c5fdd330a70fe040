/**
 * `citusctl worker` / `npm run worker`, and the child of the supervised worker (worker/supervisor.ts):
 * a long-lived worker on both task queues, for workflows started from the Temporal UI, the CLI,
 * schedules and the monitor. Once it polls it records itself in `<state>/worker/worker.json`, so
 * a CLI command knows a warm worker is there and starts none of its own.
 */
import { stateDir } from '../lib/state-dir';
import { removeOwnRecord, workerFile, writeJson } from '../lib/supervised-worker-files';
import { MONITOR_TASK_QUEUE, TASK_QUEUE, ensureTemporal } from '../lib/temporal-server';
import { storedClusterSpecs } from '../lib/cluster-spec-file';
import { PrometheusMetrics } from '../lib/metrics';
import { createDeps } from './deps';
import { installRuntimeWithMetrics, metricsPort, serveMetrics } from './metrics-server';
import { createWorker } from './run-worker';

export async function runWorkerForever(): Promise<void> {
  const root = stateDir();
  const endpoint = await ensureTemporal(root);
  const log = (line: string) => console.error(`citusctl worker: ${line}`);
  const port = metricsPort(process.env);
  const withSdk = await installRuntimeWithMetrics(port, log);
  const metrics = new PrometheusMetrics();
  // Counters of every cluster set up here exist at 0 from the start, before any failover is recorded.
  for (const spec of storedClusterSpecs(root)) metrics.clusterKnown(spec);
  const metricsUrl = await serveMetrics(metrics, port, withSdk, log);
  const deps = createDeps(process.env, metrics);
  const identity = `citusctl-worker@${process.pid}`;
  const { worker, connection } = await createWorker({ address: endpoint.address, namespace: endpoint.namespace, deps, identity });
  const resident = await createWorker({ address: endpoint.address, namespace: endpoint.namespace, deps, identity, taskQueue: MONITOR_TASK_QUEUE });
  log(`task queues "${TASK_QUEUE}" and "${MONITOR_TASK_QUEUE}" on ${endpoint.address}${endpoint.uiUrl ? `, UI ${endpoint.uiUrl}` : ''}${metricsUrl ? `, metrics ${metricsUrl}` : ''}`);
  try {
    const running = Promise.all([worker.run(), resident.worker.run()]); // return after SIGINT/SIGTERM (the SDK installs the handlers)
    writeJson(workerFile(root), { pid: process.pid, identity, taskQueues: [TASK_QUEUE, MONITOR_TASK_QUEUE], startedAt: new Date().toISOString(), ...(metricsUrl ? { metricsUrl } : {}) });
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
