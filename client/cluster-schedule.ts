/**
 * A cluster's Temporal Schedule that starts one workflow every interval on the shared task queue
 * (the schedule outlives builds, so never a build's own queue), with the cluster's name as its only
 * input: each run reads the stored spec. Overlap SKIP: a run still going when the next is due is
 * not doubled; the catch-up window is one interval. `citusctl down` deletes it with the cluster's
 * other schedules (client/stop-cluster-workflows.ts).
 */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
} from '@temporalio/client';
import type { SearchAttributePair, TypedSearchAttributes } from '@temporalio/common';
import { CITUS_CLUSTER, citusSearchAttributes } from '../common/search-attributes';
import { TASK_QUEUE } from '../lib/temporal-server';
import { citusSearchAttributesRegistered } from './search-attributes';

export interface EnsuredSchedule {
  scheduleId: string;
  outcome: 'created' | 'updated' | 'unchanged';
}

export interface ClusterSchedule {
  scheduleId: string;
  cluster: string;
  workflowType: string;
  args: unknown[];
  everySeconds: number;
  /**
   * Where in each interval the runs fall (intervals are counted from the Unix epoch): a schedule that
   * should run after another of the same interval gets an offset (default 0).
   */
  offsetSeconds?: number;
  /** A run that hangs (no worker) ends after this, so the next one may start. */
  runTimeout: string;
}

function desired(s: ClusterSchedule, tagged: boolean) {
  return {
    scheduleId: s.scheduleId,
    spec: {
      intervals: [{ every: `${s.everySeconds}s`, ...(s.offsetSeconds ? { offset: `${s.offsetSeconds}s` } : {}) }],
    },
    action: {
      type: 'startWorkflow' as const,
      workflowType: s.workflowType,
      workflowId: s.scheduleId,
      taskQueue: TASK_QUEUE,
      args: s.args,
      workflowExecutionTimeout: s.runTimeout,
      // CitusCluster on every scheduled run, where the namespace knows it (client/search-attributes.ts).
      ...(tagged ? { typedSearchAttributes: citusSearchAttributes(s.cluster) } : {}),
    },
    policies: {
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: `${Math.max(10, s.everySeconds)}s`,
      pauseOnFailure: false,
    },
  };
}

function carriesCluster(attrs: SearchAttributePair[] | TypedSearchAttributes | undefined): boolean {
  if (!attrs) return false;
  return Array.isArray(attrs)
    ? attrs.some((p) => p.key.name === CITUS_CLUSTER.name)
    : attrs.get(CITUS_CLUSTER) !== undefined;
}

/** The described schedule already does what `want` says (interval, workflow, queue, input, tags, overlap). */
function matches(d: ScheduleDescription, want: ReturnType<typeof desired>, s: ClusterSchedule): boolean {
  const intervals = d.spec.intervals ?? [];
  return (
    intervals.length === 1 &&
    intervals[0]!.every === s.everySeconds * 1000 &&
    Number(intervals[0]!.offset ?? 0) === (s.offsetSeconds ?? 0) * 1000 &&
    !d.spec.calendars?.length &&
    d.action.type === 'startWorkflow' &&
    d.action.workflowType === want.action.workflowType &&
    d.action.taskQueue === want.action.taskQueue &&
    JSON.stringify(d.action.args) === JSON.stringify(want.action.args) &&
    carriesCluster(d.action.typedSearchAttributes) === 'typedSearchAttributes' in want.action &&
    d.policies.overlap === want.policies.overlap
  );
}

/**
 * Creates the schedule, or brings an existing one to `s` (idempotent: unchanged when it already
 * is). A paused schedule stays paused: an operator's pause is not undone by the next `up`.
 */
export async function ensureClusterSchedule(client: Client, s: ClusterSchedule): Promise<EnsuredSchedule> {
  const want = desired(s, await citusSearchAttributesRegistered(client));
  const { scheduleId } = want;
  try {
    await client.schedule.create({ scheduleId, spec: want.spec, action: want.action, policies: want.policies });
    return { scheduleId, outcome: 'created' };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(scheduleId);
  if (matches(await handle.describe(), want, s)) return { scheduleId, outcome: 'unchanged' };
  await handle.update((prev) => ({
    ...prev,
    spec: want.spec,
    action: want.action,
    policies: { ...prev.policies, ...want.policies },
  }));
  return { scheduleId, outcome: 'updated' };
}

/** What became of a schedule the spec no longer asks for. */
export interface RemovedSchedule {
  scheduleId: string;
  outcome: 'deleted' | 'none';
}

/** Deletes the schedule when there is one (idempotent: `none` when there was nothing to delete). */
export async function deleteClusterSchedule(client: Client, scheduleId: string): Promise<RemovedSchedule> {
  try {
    await client.schedule.getHandle(scheduleId).delete();
    return { scheduleId, outcome: 'deleted' };
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return { scheduleId, outcome: 'none' };
    throw err;
  }
}
