/**
 * The Temporal Schedule `certs-<cluster>`: runs rotateCertificates every spec.tls.renewCheckHours
 * (daily by default). A run renews only what is due (renewBeforeDays left), so most runs change
 * nothing. Paused and resumed like any Temporal Schedule (UI, `temporal schedule toggle --pause
 * --schedule-id certs-<cluster>`).
 */
import type { Client } from '@temporalio/client';
import { workflowInput } from '../common/inputs';
import type { ClusterSpec } from '../common/spec';
import { certsScheduleId } from '../common/workflow-ids';
import { ensureClusterSchedule, type EnsuredSchedule } from './cluster-schedule';

/** Creates the schedule, or brings an existing one to the spec (idempotent). */
export function ensureCertsSchedule(client: Client, spec: ClusterSpec): Promise<EnsuredSchedule> {
  return ensureClusterSchedule(client, {
    scheduleId: certsScheduleId(spec.name),
    cluster: spec.name,
    workflowType: 'rotateCertificates',
    // The name only: each run reads the stored spec (a member added by `up` gets its certificate renewed too).
    args: [workflowInput('rotateCertificates', { cluster: spec.name })],
    everySeconds: spec.tls.renewCheckHours * 3600,
    runTimeout: '30m',
  });
}
