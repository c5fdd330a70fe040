/**
 * The environment of a workflow test file: one real Temporal dev server and one workflow bundle,
 * started before the file's tests and torn down after them, and workers on that bundle. Call
 * `useWorkflowEnv()` once at the top of the file (it registers the beforeAll/afterAll hooks); its
 * `env`, `client` and `bundle` are there once the tests run.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { SearchAttributeKey, SearchAttributeType } from '@temporalio/common/lib/search-attributes';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkerOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Activities } from '../../activities';
import { startTestEnv, workflowBundle } from './helpers';
import { runWorkflow, type RunOutcome } from './runner';

export interface WorkflowEnv {
  readonly env: TestWorkflowEnvironment;
  readonly client: Client;
  readonly bundle: WorkflowBundleWithSourceMap;
  /** A worker polling taskQueue with the file's bundle (start it with runUntil or run). */
  worker(
    taskQueue: string,
    activities?: WorkerOptions['activities'],
    options?: Omit<Partial<WorkerOptions>, 'connection' | 'taskQueue' | 'workflowBundle' | 'activities'>,
  ): Promise<Worker>;
  /** runWorkflow (runner.ts) on this server and bundle. */
  run<R>(
    workflowType: string,
    input: unknown,
    activities: Partial<Activities>,
    during?: (handle: WorkflowHandle) => Promise<void>,
  ): Promise<RunOutcome<R>>;
}

export interface WorkflowEnvOptions {
  /** Workflows to bundle instead of workflows/ (a test's own workflow module). */
  workflowsPath?: string;
  /** Search attributes the server registers. */
  searchAttributes?: SearchAttributeKey<SearchAttributeType>[];
}

export function useWorkflowEnv(options: WorkflowEnvOptions = {}): WorkflowEnv {
  let env: TestWorkflowEnvironment | undefined;
  let bundle: WorkflowBundleWithSourceMap | undefined;
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('the workflow test environment is not started (use it inside a test or hook)');
    return v;
  };

  beforeAll(async () => {
    [env, bundle] = await Promise.all([startTestEnv(options.searchAttributes), workflowBundle(options.workflowsPath)]);
  });

  afterAll(async () => {
    await env?.teardown();
  });

  return {
    get env() {
      return started(env);
    },
    get client() {
      return started(env).client;
    },
    get bundle() {
      return started(bundle);
    },
    worker(taskQueue, activities, extra = {}) {
      return Worker.create({
        ...extra,
        connection: started(env).nativeConnection,
        taskQueue,
        workflowBundle: started(bundle),
        ...(activities ? { activities } : {}),
      });
    },
    run<R>(
      workflowType: string,
      input: unknown,
      activities: Partial<Activities>,
      during?: (handle: WorkflowHandle) => Promise<void>,
    ) {
      return runWorkflow<R>(started(env), started(bundle), workflowType, input, activities, during);
    },
  };
}
