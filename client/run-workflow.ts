/**
 * Runs one workflow to completion from the CLI: Temporal server (external or embedded), an
 * in-process worker, start-or-attach by workflow id, progress printed as it changes.
 */
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { setMaxListeners } from 'node:events';
import type { Progress } from '../common/progress';
import { WORKFLOW_TASK_TIMEOUT } from '../common/takeover';
import { stateDir } from '../lib/state-dir';
import { describeSecurity, temporalConnectOptions } from '../lib/temporal-connection';
import { TASK_QUEUE, ensureTemporal } from '../lib/temporal-server';
import { abortableQuery, followWorkflow } from './follow-workflow';
import { ProgressPrinter } from './progress-printer';
import { searchAttributesFor } from './search-attributes';
import { warmWorker } from './supervised-worker';
import { connectClient } from './temporal-client';

export interface RunOptions {
  workflowType: string;
  workflowId: string;
  args: unknown[];
  json?: boolean;
  /**
   * Run an in-process worker: true, false, or 'auto' (default): only when no supervised worker
   * polls the task queue (then a failover does not wait for a worker to start).
   */
  worker?: boolean | 'auto';
  /**
   * A worker that is starting elsewhere (the supervised one `up` just started) and is to run the
   * workflow: resolves true once it polls. No in-process worker is loaded meanwhile; on false one is
   * (unless `worker` is false). Aborted when the run ends.
   */
  awaitWorker?: (signal: AbortSignal) => Promise<boolean>;
  /** Called with each progress seen, after it is printed. */
  onProgress?: (p: Progress) => void;
  /**
   * Workflows the result says were started to run on after it (a backup's expiry): with an
   * in-process worker, perhaps the only worker there is, the process waits (bounded) for them to
   * end before its worker stops, so none is left with nobody to run it.
   */
  followUps?: (result: unknown) => string[];
  log: (line: string) => void;
}

export interface RunReport<T> {
  workflowId: string;
  runId: string;
  attached: boolean;
  steps: Progress['steps'];
  result: T;
  temporal: { address: string; ui?: string };
}

/* eslint-disable @typescript-eslint/no-require-imports */
function loadWorkerModules() {
  return {
    ...(require('../worker/deps') as typeof import('../worker/deps')),
    ...(require('../worker/run-worker') as typeof import('../worker/run-worker')),
  };
}
/* eslint-enable @typescript-eslint/no-require-imports */

export async function runWorkflow<T>(opts: RunOptions): Promise<RunReport<T>> {
  const env = process.env;
  const endpoint = await ensureTemporal(stateDir(env), env);
  // The TLS / API key configuration is read (and a missing file reported) before anything connects.
  const security = endpoint.embedded ? '' : ` (${describeSecurity(temporalConnectOptions(endpoint, env))})`;
  opts.log(`temporal: ${endpoint.address}${security}${endpoint.uiUrl ? ` (UI ${endpoint.uiUrl})` : ''}`);
  let worker: Worker | undefined;
  let workerDone: Promise<void> | undefined;
  const waiting = opts.awaitWorker !== undefined;
  const inProcess = waiting
    ? false
    : opts.worker === 'auto' || opts.worker === undefined
      ? !warmWorker(stateDir(env))
      : opts.worker;
  if (!inProcess && !waiting && opts.worker !== false) opts.log('worker: the supervised worker (no in-process worker)');
  // The worker and its clients are loaded only when needed (~0.4 s of a failover's outage otherwise),
  // and created while the workflow starts.
  let deps: ReturnType<ReturnType<typeof loadWorkerModules>['createDeps']> | undefined;
  let creating: ReturnType<ReturnType<typeof loadWorkerModules>['createWorker']> | undefined;
  const createLocalWorker = () => {
    const local = loadWorkerModules();
    deps = local.createDeps(env);
    local.quietRuntime();
    creating = local.createWorker({
      endpoint,
      deps,
      identity: `citusctl-cli@${process.pid}`,
    });
    creating.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
  };
  if (inProcess) createLocalWorker();
  // A worker that dies leaves nobody to run the workflow: stop waiting (cancel the long poll, so no
  // call is left in flight), and report the worker's error from the finally below.
  const workerFailed = new AbortController();
  setMaxListeners(0, workerFailed.signal); // result() long-polls, one abort listener per poll: not a leak
  let starting: Promise<void> | undefined;
  const startWorker = (): Promise<void> => {
    if (!creating) return Promise.resolve();
    starting ??= creating.then((created) => {
      worker = created.worker;
      workerDone = worker.run().finally(() => created.connection.close());
      workerDone.catch(() => workerFailed.abort());
    });
    return starting;
  };
  // The worker starting elsewhere runs the workflow; if it does not come, an in-process one after all.
  const ended = new AbortController();
  const fallback = opts.awaitWorker?.(ended.signal).then(async (polls) => {
    if (polls) return opts.log('worker: the supervised worker (no in-process worker)');
    if (ended.signal.aborted || opts.worker === false) return;
    opts.log('worker: the supervised worker does not poll yet; an in-process worker runs the workflow');
    createLocalWorker();
    await startWorker();
  });
  let fallbackFailed: unknown;
  // Its failure leaves nobody to run the workflow: stop waiting and report it from the finally below.
  const fellBack = fallback?.catch((err: unknown) => {
    fallbackFailed = err ?? new Error('the in-process worker did not start');
    workerFailed.abort();
  });
  let connected: Awaited<ReturnType<typeof connectClient>>;
  try {
    connected = await connectClient(endpoint);
  } catch (err) {
    ended.abort();
    await fellBack;
    await startWorker().catch(() => undefined);
    worker?.shutdown();
    await workerDone?.catch(() => undefined);
    deps?.close();
    throw err;
  }
  const { client, close } = connected;
  try {
    const [existing, tags] = await Promise.all([
      client.workflow
        .getHandle(opts.workflowId)
        .describe()
        .catch(() => undefined),
      searchAttributesFor(client, endpoint, opts.args[0]),
    ]);
    const attached = existing?.status.name === 'RUNNING';
    if (attached) opts.log(`attached to ${opts.workflowId}, already in flight (its input stays as started)`);
    const handle = await client.workflow.start(opts.workflowType, {
      taskQueue: TASK_QUEUE,
      workflowId: opts.workflowId,
      args: opts.args,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT, // a task in flight on a worker that died is retried in seconds
      ...tags, // CitusCluster / CitusGroup, so the UI filters by cluster or group
      staticSummary: `${opts.workflowType} ${opts.workflowId} (citusctl CLI)`,
    });
    await startWorker();
    // to stderr in --json mode (the CLI's log), so stdout stays one document
    const printer = new ProgressPrinter(opts.log);
    // Every query is cancelled by the poller and bounded by a deadline: none outlives the connection closed below.
    const { result, last } = await followWorkflow<T, Progress>({
      result: () => client.withAbortSignal(workerFailed.signal, () => handle.result() as Promise<T>),
      query: abortableQuery<Progress>(client, handle, 'progress'),
      finalProgress: progressInResult,
      onProgress: (p) => {
        printer.update(p);
        opts.onProgress?.(p);
      },
    });
    if (worker && opts.followUps) await awaitFollowUps(client, opts.followUps(result), workerFailed.signal, opts.log);
    return {
      workflowId: opts.workflowId,
      runId: handle.firstExecutionRunId,
      attached,
      steps: last?.steps ?? [],
      result,
      temporal: { address: endpoint.address, ui: endpoint.uiUrl },
    };
  } catch (err) {
    throw fallbackFailed ?? err; // the wait was aborted because the in-process worker failed: that is the reason
  } finally {
    ended.abort();
    await fellBack;
    await close();
    await startWorker().catch(() => undefined); // a worker being created when something failed is shut down too
    if (worker) {
      worker.shutdown();
      await workerDone;
    }
    deps?.close();
  }
}

/** The final progress a workflow's result carries (`progress`: backupCluster's), if it does. */
export function progressInResult(result: unknown): Progress | undefined {
  const p = (result as { progress?: Partial<Progress> } | null)?.progress;
  return p && typeof p.workflow === 'string' && Array.isArray(p.steps) ? (p as Progress) : undefined;
}

/** How long an in-process worker stays for the workflows a result started (then they wait for another worker). */
export const FOLLOW_UP_WAIT_MS = 5 * 60_000;

async function awaitFollowUps(
  client: Awaited<ReturnType<typeof connectClient>>['client'],
  ids: string[],
  workerFailed: AbortSignal,
  log: (line: string) => void,
): Promise<void> {
  if (!ids.length) return;
  log(`worker: this process runs ${ids.join(', ')} to its end before it exits (no supervised worker)`);
  const deadline = AbortSignal.any([workerFailed, AbortSignal.timeout(FOLLOW_UP_WAIT_MS)]);
  await Promise.all(
    ids.map((id) =>
      client
        .withAbortSignal(deadline, () => client.workflow.getHandle(id).result())
        .catch((err: unknown) => {
          if (deadline.aborted) log(`worker: ${id} is still running; a worker started later finishes it`);
          else log(`worker: ${id} ended with an error: ${err instanceof Error ? err.message : String(err)}`);
        }),
    ),
  );
}

/** Sends an update to a running workflow (e.g. approve a failover). */
export async function updateWorkflow<T>(workflowId: string, update: string, arg: unknown): Promise<T> {
  const endpoint = await ensureTemporal(stateDir(), process.env);
  const { client, close } = await connectClient(endpoint);
  try {
    return await client.workflow.getHandle(workflowId).executeUpdate<T, [unknown]>(update, { args: [arg] });
  } finally {
    await close();
  }
}
