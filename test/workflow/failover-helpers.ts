/**
 * Shared by the failover / switchover / rejoin workflow tests: mocked activities that behave like a
 * small cluster (a promoted standby stays promoted, positions come from a table), record every call
 * with its attempt, and a runner that starts a workflow on a fresh task queue.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Activities } from '../../activities';
import type { StandbyPosition } from '../../common/failover-decisions';
import type { Progress, StepState } from '../../common/progress';
import { parseSpec, SpecError } from '../../common/spec';
import type { Primaries } from '../../common/topology';
import { uniqueId } from './helpers';

/** Every activity failoverGroup, switchoverGroup and rejoinMemberWorkflow call. */
export const FAILOVER_ACTIVITY_NAMES = [
  'validateSpec',
  'readLivePrimaries',
  'acquireGroupLock',
  'renewGroupLock',
  'releaseGroupLock',
  'probeMember',
  'fenceMember',
  'standbyPositions',
  'promoteStandby',
  'pointCitusAt',
  'waitMetadataSynced',
  'unfencePrimary',
  'pointCoordinatorAt',
  'initPgBouncer',
  'recordPrimaryChange',
  'rejoinMember',
  'checkReplication',
  'configureDurability',
  'switchoverCriticalSection',
] as const satisfies ReadonlyArray<keyof Activities>;
export type FailoverActivityName = (typeof FAILOVER_ACTIVITY_NAMES)[number];
export type FailoverActivities = Pick<Activities, FailoverActivityName>;

export interface FCall {
  name: FailoverActivityName;
  input: unknown;
  attempt: number;
}

/** The cluster the default mocks pretend to be. */
export interface Scenario {
  /** What etcd says (default: the first member of every group, as in SPEC_INPUT). */
  primaries?: Primaries;
  /** Results of the probes of the old primary (default: three failures). */
  probes?: boolean[];
  /** Per-member overrides of standbyPositions (default: reachable, in recovery, replay 0/1000000). */
  positions?: Record<string, Partial<StandbyPosition>>;
  /** Members already out of recovery (a previous attempt promoted them). */
  promoted?: string[];
}

export const DEFAULT_PRIMARIES: Primaries = { coordinator: 'coord-a', workers: { g1: 'g1-a', g2: 'g2-a' } };

export function mockFailoverActivities(overrides: Partial<FailoverActivities> = {}, scenario: Scenario = {}) {
  const calls: FCall[] = [];
  const promoted = new Set(scenario.promoted ?? []);
  const probes = scenario.probes ?? [false, false, false];
  const defaults: FailoverActivities = {
    async validateSpec(input: unknown) {
      try {
        return parseSpec(input);
      } catch (err) {
        if (err instanceof SpecError) throw ApplicationFailure.create({ type: 'BadConfig', message: err.message, nonRetryable: true });
        throw err;
      }
    },
    async readLivePrimaries() {
      return structuredClone(scenario.primaries ?? DEFAULT_PRIMARIES);
    },
    async acquireGroupLock({ group }) {
      return { lease: `lease-${group}` };
    },
    async renewGroupLock() {
      return { ttl: 30 };
    },
    async releaseGroupLock() {
      return { released: true };
    },
    async probeMember() {
      return probes.map((ok, i) => ({ ok, detail: ok ? `probe ${i + 1}: answers as primary` : `probe ${i + 1}: connection refused` }));
    },
    async fenceMember() {
      return { wasRunning: true };
    },
    async standbyPositions({ members }) {
      return members.map((member) => ({
        member,
        reachable: true,
        inRecovery: !promoted.has(member),
        replayLsn: '0/1000000',
        receiveLsn: '0/1000000',
        ...scenario.positions?.[member],
        ...(promoted.has(member) ? { inRecovery: false } : {}),
      }));
    },
    async promoteStandby({ member }) {
      if (promoted.has(member)) return { promoted: false };
      promoted.add(member);
      return { promoted: true };
    },
    async pointCitusAt() {
      return { updated: true, nodeId: 7 };
    },
    async waitMetadataSynced() {
      return { synced: true };
    },
    async unfencePrimary() {
      return { started: true };
    },
    async pointCoordinatorAt() {
      return { updated: true };
    },
    async initPgBouncer({ spec }) {
      return { changed: true, demoRows: spec.demo.rows };
    },
    async recordPrimaryChange() {
      return { recorded: true };
    },
    async rejoinMember() {
      return { action: 'rewound' as const };
    },
    async checkReplication({ standby, primary }) {
      return { standby, primary, slot: `citusctl_${standby.replace(/-/g, '_')}`, state: 'streaming', lagBytes: 0, synchronous: true };
    },
    async configureDurability({ standbys }) {
      return { synchronousStandbyNames: standbys.length ? `ANY 1 (${standbys.join(', ')})` : '' };
    },
    async switchoverCriticalSection({ newPrimary }) {
      promoted.add(newPrimary);
      return { pauseMs: 42, promoted: true, metadataUpdated: true };
    },
  };
  const impl = { ...defaults, ...overrides } as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const activities = Object.fromEntries(
    Object.entries(impl).map(([name, fn]) => [
      name,
      async (...args: unknown[]) => {
        calls.push({ name: name as FailoverActivityName, input: args[0], attempt: Context.current().info.attempt });
        return fn(...args);
      },
    ]),
  ) as unknown as FailoverActivities;
  const called = (name: FailoverActivityName) => calls.filter((c) => c.name === name);
  /** Inputs of one activity's calls, typed. */
  const inputs = <K extends FailoverActivityName>(name: K) => called(name).map((c) => c.input as Parameters<FailoverActivities[K]>[0]);
  return { activities, calls, called, inputs, promoted };
}

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
  activities: Partial<FailoverActivities>,
  during?: (handle: WorkflowHandle) => Promise<void>,
): Promise<RunOutcome<R>> {
  const taskQueue = uniqueId('tq');
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities });
  const handle = await env.client.workflow.start(workflowType, { taskQueue, workflowId: uniqueId(workflowType), args: [input] });
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
export async function waitForStep(handle: WorkflowHandle, step: string, state: StepState, timeoutMs = 15_000): Promise<Progress> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = await handle.query<Progress>('progress');
    if (p.steps.find((s) => s.name === step)?.state === state) return p;
    if (Date.now() > deadline) throw new Error(`step ${step} never reached ${state}: ${JSON.stringify(p.steps)}`);
    await new Promise((r) => setTimeout(r, 50));
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
