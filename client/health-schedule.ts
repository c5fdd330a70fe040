/**
 * The Temporal Schedule `health-<cluster>`: runs healthCheck (a short-lived, read-only workflow)
 * every spec.health.intervalSeconds; after an outage only the latest missed check runs.
 */
import type { Client } from '@temporalio/client';
import type { ClusterSpec } from '../common/spec';
import { healthScheduleId } from '../common/workflow-ids';
import type { HealthCheckInput } from '../workflows/health-check';
import { ensureClusterSchedule, type EnsuredSchedule } from './cluster-schedule';

export type { EnsuredSchedule } from './cluster-schedule';

/** Creates the schedule, or brings an existing one to the spec (idempotent: unchanged when it already is). */
export function ensureHealthSchedule(client: Client, spec: ClusterSpec): Promise<EnsuredSchedule> {
  // The cluster's name only: a group added by `up` or removed by `drain` is checked (or no longer)
  // without touching the schedule.
  const args: [HealthCheckInput] = [{ cluster: spec.name }];
  return ensureClusterSchedule(client, {
    scheduleId: healthScheduleId(spec.name),
    cluster: spec.name,
    workflowType: 'healthCheck',
    args,
    everySeconds: spec.health.intervalSeconds,
    runTimeout: '5m',
  });
}
