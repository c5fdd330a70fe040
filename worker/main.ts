/** `citusctl worker` / `npm run worker`: a long-lived worker for workflows started from the Temporal UI or CLI. */
import { MONITOR_TASK_QUEUE, ensureTemporal } from '../lib/temporal-server';
import { stateDir } from '../lib/state-dir';
import { createDeps } from './deps';
import { createWorker } from './run-worker';

export async function runWorkerForever(): Promise<void> {
  const endpoint = await ensureTemporal(stateDir());
  const deps = createDeps();
  const { worker, connection } = await createWorker({ address: endpoint.address, namespace: endpoint.namespace, deps, identity: `citusctl-worker@${process.pid}` });
  const resident = await createWorker({ address: endpoint.address, namespace: endpoint.namespace, deps, identity: `citusctl-worker@${process.pid}`, taskQueue: MONITOR_TASK_QUEUE });
  console.error(`citusctl worker: task queue "citusctl" on ${endpoint.address}${endpoint.uiUrl ? `, UI ${endpoint.uiUrl}` : ''}`);
  try {
    await Promise.all([worker.run(), resident.worker.run()]); // return after SIGINT/SIGTERM (the SDK installs the handlers)
  } finally {
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
