/**
 * Creates a worker for the citusctl task queue (or another: the monitor's queue of this build, on
 * the same connection). Uses the pre-built workflow bundle when present (worker/bundle-path.ts).
 */
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import * as fs from 'node:fs';
import { createActivities } from '../activities';
import type { ActivityDeps } from '../activities/deps';
import { WORKFLOW_FAILURE_ERROR_TYPES } from '../common/workflow-failure';
import { HEARTBEAT_SEND_INTERVAL, STICKY_QUEUE_TIMEOUT } from '../common/takeover';
import { connectFailure, retryConnect, temporalConnectOptions } from '../lib/temporal-connection';
import { TASK_QUEUE, type TemporalEndpoint } from '../lib/temporal-server';
import { WORKFLOW_BUNDLE_ENV, workflowBundlePath } from './bundle-path';

let runtimeInstalled = false;
/** Keeps the SDK's own logging quiet: the CLI prints progress itself. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  // Everything to stderr (core logs forwarded too): stdout is the CLI's, one JSON document with --json.
  const toStderr = (entry: { level: string; message: string; meta?: unknown }) =>
    process.stderr.write(`[temporal ${entry.level}] ${entry.message}\n`);
  Runtime.install({
    logger: new DefaultLogger('ERROR', toStderr),
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } },
  });
}

export async function createWorker(opts: {
  endpoint: TemporalEndpoint;
  deps: ActivityDeps;
  identity?: string;
  taskQueue?: string;
  connection?: NativeConnection;
  /** Serve activities only (a host's queue: no workflow task is ever scheduled there). */
  activitiesOnly?: boolean;
}): Promise<{ worker: Worker; connection: NativeConnection }> {
  const bundle = workflowBundlePath(opts.deps.env);
  // A bundle named explicitly must be the one that runs: never fall back to other code.
  if (opts.deps.env[WORKFLOW_BUNDLE_ENV] && !fs.existsSync(bundle))
    throw new Error(`${WORKFLOW_BUNDLE_ENV}=${bundle}: no such file`);
  const connection = opts.connection ?? (await connectWorker(opts.endpoint, opts.deps.env));
  const workflowSource: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> = opts.activitiesOnly
    ? {}
    : fs.existsSync(bundle)
      ? { workflowBundle: { codePath: bundle } }
      : { workflowsPath: require.resolve('../workflows') };
  const worker = await Worker.create({
    connection,
    namespace: opts.endpoint.namespace,
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    identity: opts.identity,
    activities: createActivities(opts.deps),
    // An error in workflow code fails that workflow instead of retrying its task for ever.
    workflowFailureErrorTypes: { '*': [...WORKFLOW_FAILURE_ERROR_TYPES] },
    ...workflowSource,
    // A dead worker's work moves on in seconds (common/takeover.ts).
    stickyQueueScheduleToStartTimeout: STICKY_QUEUE_TIMEOUT,
    maxHeartbeatThrottleInterval: HEARTBEAT_SEND_INTERVAL,
    // The monitor's queue gets two workflow threads: a worker that takes over replays the monitor's
    // long history (seconds on a busy machine) and must not hold up the monitor's next decision. The
    // shared queue (the failovers) has its own Worker and keeps one (each thread loads the bundle).
    workflowThreadPoolSize: (opts.taskQueue ?? TASK_QUEUE) === TASK_QUEUE ? 1 : 2,
  });
  return { worker, connection };
}

/** The worker's connection, secured as Temporal's client configuration says; a failure says why. */
export async function connectWorker(endpoint: TemporalEndpoint, env: NodeJS.ProcessEnv): Promise<NativeConnection> {
  const options = temporalConnectOptions(endpoint, env);
  const started = Date.now();
  for (;;) {
    try {
      return await NativeConnection.connect(options);
    } catch (err) {
      // The embedded server accepts TCP before it answers gRPC: tried again for a while (retryConnect).
      if (!retryConnect(endpoint, err, Date.now() - started)) throw await connectFailure(options, err);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
