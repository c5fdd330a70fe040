/**
 * The Temporal Schedule `certs-<cluster>`: runs rotateCertificates every spec.tls.renewCheckHours
 * (daily by default) on the shared task queue. A run renews only what is due (renewBeforeDays
 * left), so most runs change nothing. Overlap SKIP; the catch-up window is one interval. Paused and
 * resumed like any Temporal Schedule (UI, `temporal schedule toggle --pause --schedule-id
 * certs-<cluster>`); `citusctl down` deletes it with the cluster's other schedules.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
} from '@temporalio/client';
import { workflowInput } from '../common/inputs';
import { citusSearchAttributes } from '../common/search-attributes';
import type { ClusterSpec } from '../common/spec';
import { certsScheduleId } from '../common/workflow-ids';
import { TASK_QUEUE } from '../lib/temporal-server';
import type { EnsuredSchedule } from './health-schedule';
import { citusSearchAttributesRegistered } from './search-attributes';

/** A run that hangs (no worker) ends after this, so the next one may start. */
const RUN_TIMEOUT = '30m';
const HOUR_MS = 3_600_000;

function desired(spec: ClusterSpec, tagged: boolean) {
  const scheduleId = certsScheduleId(spec.name);
  const hours = spec.tls.renewCheckHours;
  return {
    scheduleId,
    spec: { intervals: [{ every: `${hours}h` }] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: 'rotateCertificates',
      workflowId: scheduleId,
      taskQueue: TASK_QUEUE,
      // The name only: each run reads the stored spec (a member added by `up` gets its certificate renewed too).
      args: [workflowInput('rotateCertificates', { cluster: spec.name })],
      workflowExecutionTimeout: RUN_TIMEOUT,
      ...(tagged ? { typedSearchAttributes: citusSearchAttributes(spec.name) } : {}),
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${hours}h`, pauseOnFailure: false },
  };
}

function matches(d: ScheduleDescription, want: ReturnType<typeof desired>, spec: ClusterSpec): boolean {
  const intervals = d.spec.intervals ?? [];
  return (
    intervals.length === 1 &&
    intervals[0]!.every === spec.tls.renewCheckHours * HOUR_MS &&
    !d.spec.calendars?.length &&
    d.action.type === 'startWorkflow' &&
    d.action.workflowType === want.action.workflowType &&
    d.action.taskQueue === want.action.taskQueue &&
    JSON.stringify(d.action.args) === JSON.stringify(want.action.args) &&
    d.policies.overlap === want.policies.overlap
  );
}

/**
 * Creates the schedule, or brings an existing one to the spec (idempotent). A paused schedule stays
 * paused: an operator's pause is not undone by the next `up`.
 */
export async function ensureCertsSchedule(client: Client, spec: ClusterSpec): Promise<EnsuredSchedule> {
  const want = desired(spec, await citusSearchAttributesRegistered(client));
  const { scheduleId } = want;
  try {
    await client.schedule.create({ scheduleId, spec: want.spec, action: want.action, policies: want.policies });
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
