/**
 * Shared by the workflow tests: a runner that starts a workflow on a fresh task queue with the given
 * (mocked) activities and reads its final progress, and small readers of progress and failures.
 * The mocks themselves are in mock-activities.ts.
 */
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Activities } from '../../activities';
import type { Progress, StepState } from '../../common/progress';
import { uniqueId } from './helpers';

export interface RunOutcome<R> {
  result: R | undefined;
  error: unknown;
  progress: Progress;
  handle: WorkflowHandle;
}

/** Starts `workflowType` on a fresh task queue with the given activities; `during` runs while the worker is up. */
export async function runWorkflow<R>(
  env: TestWorkflowEnvironment,
  bundle: WorkflowBundleWithSourceMap,
  workflowType: string,
  input: unknown,
  activities: Partial<Activities>,
  during?: (handle: WorkflowHandle) => Promise<void>,
): Promise<RunOutcome<R>> {
  const taskQueue = uniqueId('tq');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities,
  });
  const handle = await env.client.workflow.start(workflowType, {
    taskQueue,
    workflowId: uniqueId(workflowType),
    args: [input],
  });
  const outcome = await worker.runUntil(async () => {
    await during?.(handle);
    return handle.result().then(
      (result: R) => ({ result, error: undefined as unknown }),
      (error: unknown) => ({ result: undefined, error }),
    );
  });
  // Queries on a closed workflow are answered by replaying it, which needs a worker.
  const w = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities });
  const progress = await w.runUntil(handle.query<Progress>('progress'));
  return { ...outcome, progress, handle };
}

/** Polls the progress query until `step` reaches `state` (the worker must be running). */
export async function waitForStep(
  handle: WorkflowHandle,
  step: string,
  state: StepState,
  timeoutMs = 15_000,
): Promise<Progress> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = await handle.query<Progress>('progress');
    if (p.steps.find((s) => s.name === step)?.state === state) return p;
    if (Date.now() > deadline) throw new Error(`step ${step} never reached ${state}: ${JSON.stringify(p.steps)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls fn every 50 ms until it returns something other than undefined or false, and returns that;
 * throws after timeoutMs naming `what`. An error thrown by fn fails the wait at once, unless
 * retryErrors (then it counts as not yet).
 */
export async function waitUntil<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  opts: { retryErrors?: boolean } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = opts.retryErrors
      ? await Promise.resolve()
          .then(fn)
          .catch(() => undefined)
      : await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A promise and its resolver, to hold an activity until the test lets it go. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

export const stateOf = (p: Progress) => Object.fromEntries(p.steps.map((s) => [s.name, s.state]));
export const step = (p: Progress, name: string) => p.steps.find((s) => s.name === name)!;
/** Names of the calls with consecutive repeats folded (concurrent calls to one activity appear once). */
export const sequence = (calls: { name: string }[]) => calls.map((c) => c.name).filter((n, i, all) => n !== all[i - 1]);

/** The ApplicationFailure a failed workflow carries (thrown by the workflow itself or by an activity). */
export function failureOf(error: unknown): ApplicationFailure {
  expect(error).toBeInstanceOf(WorkflowFailedError);
  let cause: unknown = (error as WorkflowFailedError).cause;
  while (cause instanceof Error && !(cause instanceof ApplicationFailure)) cause = cause.cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}
