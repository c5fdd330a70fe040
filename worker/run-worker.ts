/** Creates a worker for the citusctl task queue. Uses the pre-built workflow bundle when present. */
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import * as fs from 'node:fs';
import { createActivities } from '../activities';
import type { ActivityDeps } from '../activities/deps';
import { HEARTBEAT_SEND_INTERVAL, STICKY_QUEUE_TIMEOUT } from '../common/takeover';
import { TASK_QUEUE } from '../lib/temporal-server';
import { WORKFLOW_BUNDLE } from './bundle-path';

let runtimeInstalled = false;
/** Keeps the SDK's own logging quiet: the CLI prints progress itself. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  // Everything to stderr (core logs forwarded too): stdout is the CLI's, one JSON document with --json.
  const toStderr = (entry: { level: string; message: string; meta?: unknown }) => process.stderr.write(`[temporal ${entry.level}] ${entry.message}\n`);
  Runtime.install({ logger: new DefaultLogger('ERROR', toStderr), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } } });
}

export async function createWorker(opts: { address: string; namespace: string; deps: ActivityDeps; identity?: string; taskQueue?: string }): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address: opts.address });
  const workflowSource: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> = fs.existsSync(WORKFLOW_BUNDLE)
    ? { workflowBundle: { codePath: WORKFLOW_BUNDLE } }
    : { workflowsPath: require.resolve('../workflows') };
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    identity: opts.identity,
    activities: createActivities(opts.deps),
    ...workflowSource,
    // A dead worker's work moves on in seconds (common/takeover.ts).
    stickyQueueScheduleToStartTimeout: STICKY_QUEUE_TIMEOUT,
    maxHeartbeatThrottleInterval: HEARTBEAT_SEND_INTERVAL,
    // The resident worker (the monitor's queue) gets two workflow threads: one that takes over replays
    // the monitor's long history (seconds on a busy machine), and the failover the monitor started
    // must not wait behind it. The CLI's queue keeps one (each thread loads the bundle at start).
    workflowThreadPoolSize: (opts.taskQueue ?? TASK_QUEUE) === TASK_QUEUE ? 1 : 2,
  });
  return { worker, connection };
}
