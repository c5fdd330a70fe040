/**
 * The Temporal Schedule `health-<cluster>`: runs healthCheck every spec.health.intervalSeconds on
 * the shared task queue (a short-lived, read-only workflow, like every one but the monitor; the
 * schedule outlives builds, so never a build's own queue). Overlap SKIP: a check still running when the next is due is
 * not doubled. The catch-up window is one interval: after an outage only the latest missed check runs.
 * `citusctl down` deletes it with the cluster's other schedules (client/stop-cluster-workflows.ts).
 */
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
} from '@temporalio/client';
import type { SearchAttributePair, TypedSearchAttributes } from '@temporalio/common';
import { CITUS_CLUSTER, citusSearchAttributes } from '../common/search-attributes';
import type { ClusterSpec } from '../common/spec';
import { TASK_QUEUE } from '../lib/temporal-server';
import { healthScheduleId } from '../common/workflow-ids';
import type { HealthCheckInput } from '../workflows/health-check';
import { citusSearchAttributesRegistered } from './search-attributes';

export interface EnsuredSchedule {
  scheduleId: string;
  outcome: 'created' | 'updated' | 'unchanged';
}

/** A scheduled run that hangs (no worker) ends after this, so the next one may start. */
const RUN_TIMEOUT = '5m';

function desired(spec: ClusterSpec, tagged: boolean) {
  const scheduleId = healthScheduleId(spec.name);
  const every = spec.health.intervalSeconds;
  // The cluster's name only: each run reads the stored spec, so a group added by `up` or removed by
  // `drain` is checked (or no longer) without touching the schedule.
  const args: [HealthCheckInput] = [{ cluster: spec.name }];
  // CitusCluster on every scheduled run, where the namespace knows it (client/search-attributes.ts).
  const tags = tagged ? { typedSearchAttributes: citusSearchAttributes(spec.name) } : {};
  return {
    scheduleId,
    spec: { intervals: [{ every: `${every}s` }] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: 'healthCheck',
      workflowId: scheduleId,
      taskQueue: TASK_QUEUE,
      args,
      workflowExecutionTimeout: RUN_TIMEOUT,
      ...tags,
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${Math.max(10, every)}s`, pauseOnFailure: false },
  };
}

function carriesCluster(attrs: SearchAttributePair[] | TypedSearchAttributes | undefined): boolean {
  if (!attrs) return false;
  return Array.isArray(attrs)
    ? attrs.some((p) => p.key.name === CITUS_CLUSTER.name)
    : attrs.get(CITUS_CLUSTER) !== undefined;
}

/** The described schedule already does what `want` says (interval, workflow, queue, input, overlap). */
function matches(d: ScheduleDescription, want: ReturnType<typeof desired>, spec: ClusterSpec): boolean {
  const intervals = d.spec.intervals ?? [];
  return (
    intervals.length === 1 &&
    intervals[0]!.every === spec.health.intervalSeconds * 1000 &&
    !d.spec.calendars?.length &&
    d.action.type === 'startWorkflow' &&
    d.action.workflowType === want.action.workflowType &&
    d.action.taskQueue === want.action.taskQueue &&
    JSON.stringify(d.action.args) === JSON.stringify(want.action.args) &&
    carriesCluster(d.action.typedSearchAttributes) === 'typedSearchAttributes' in want.action &&
    d.policies.overlap === want.policies.overlap
  );
}

/** Creates the schedule, or brings an existing one to the spec (idempotent: unchanged when it already is). */
export async function ensureHealthSchedule(client: Client, spec: ClusterSpec): Promise<EnsuredSchedule> {
  const want = desired(spec, await citusSearchAttributesRegistered(client));
  const { scheduleId } = want;
  try {
    await client.schedule.create({
      scheduleId: want.scheduleId,
      spec: want.spec,
      action: want.action,
      policies: want.policies,
    });
    return { scheduleId, outcome: 'created' };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(scheduleId);
  if (matches(await handle.describe(), want, spec)) return { scheduleId, outcome: 'unchanged' };
  await handle.update((prev) => ({
    ...prev,
    spec: want.spec,
    action: want.action,
    policies: { ...prev.policies, ...want.policies },
  }));
  return { scheduleId, outcome: 'updated' };
}
