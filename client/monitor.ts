/**
 * The cluster's monitor workflow (`monitor-<cluster>`, workflows/monitor.ts) from the client side:
 * `up` makes sure it runs on this build (idempotent: a running monitor of this build is left as it
 * is, with its state; one of another build is handed over, lib/monitor-handoff.ts), and `pause` /
 * `resume` send it their Updates. It runs on its build's own task queue, which only long-lived
 * workers (`citusctl worker`, the supervised one) poll: a CLI command's in-process worker never
 * picks it up (it would act on the cluster for as long as the command runs, and wait for its probe
 * at exit).
 */
import type { Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { isMultiHost } from '../common/addressing';
import { workflowInput } from '../common/inputs';
import type { ClusterSpec } from '../common/spec';
import { buildOfMonitorQueue } from '../common/task-queues';
import { monitorWorkflowId } from '../common/workflow-ids';
import { storedClusters } from '../lib/cluster-spec-file';
import { handOffMonitor, handOffMonitors, queuePolled, type HandOffReport } from '../lib/monitor-handoff';
import { stateDir } from '../lib/state-dir';
import { ensureTemporal, monitorTaskQueue } from '../lib/temporal-server';
import { workflowBuild } from '../worker/build-id';
import type { MaintenanceInput } from '../workflows/monitor';
import { reloadSpecSignal } from '../workflows/monitor-signals';
import { ensureBackupSchedule, type BackupSchedule } from './backup-schedule';
import { ensureCertsSchedule } from './certs-schedule';
import { ensureHealthSchedule, type EnsuredSchedule } from './health-schedule';
import { ensureRestorePointSchedule } from './restore-point-schedule';
import { connectClient } from './temporal-client';
import { ensureVerifyBackupSchedule } from './verify-backup-schedule';

/** The monitor's workflow id (status and down look for it). */
export const monitorId = monitorWorkflowId;

/**
 * Makes the monitor run on this build's queue: a run of another build is handed over first (when a
 * worker of this build polls, or none polls the old one); then one signal-with-start either starts
 * it here or tells the running one to reload the stored spec (the setup just stored it: a group may
 * have been added; it keeps its state). A monitor that ended between the two is simply started.
 */
export async function ensureMonitor(
  client: Client,
  spec: ClusterSpec,
  target = monitorTaskQueue(workflowBuild()),
): Promise<HandOffReport & { started: boolean }> {
  const r = await handOffMonitor(client, {
    cluster: spec.name,
    target,
    targetPolled: await queuePolled(client, target),
  });
  // Left on its build (no worker of this one yet), or just moved or restarted here with the stored spec.
  if (r.action !== 'none' && r.action !== 'keep') return { ...r, started: r.action !== 'leave' };
  await client.workflow.signalWithStart('monitorCluster', {
    workflowId: r.workflowId,
    taskQueue: target,
    args: [workflowInput('monitorCluster', { cluster: spec.name })],
    signal: reloadSpecSignal,
    signalArgs: [],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  });
  if (r.action === 'keep') return { ...r, started: false };
  return { ...r, action: 'start', detail: `started on build ${buildOfMonitorQueue(target) ?? target}`, started: true };
}

/**
 * For `up`: the monitor, the health schedule (health-<cluster>), the certificate renewal
 * schedule (certs-<cluster>), the restore point schedule (restore-point-<cluster>), the backup
 * schedule (backup-<cluster>) and the backup verification schedule (verify-backup-<cluster>), all
 * idempotently, on the cluster's Temporal server.
 */
export async function startMonitor(
  spec: ClusterSpec,
  log: (line: string) => void,
): Promise<{
  workflowId: string;
  started: boolean;
  /** None with several hosts (the health check and the rotation refuse them so far). */
  healthSchedule?: EnsuredSchedule;
  certsSchedule?: EnsuredSchedule;
  /** None when backups are disabled. */
  restorePointSchedule?: EnsuredSchedule;
  backupSchedule: BackupSchedule;
  verifyBackupSchedule: Awaited<ReturnType<typeof ensureVerifyBackupSchedule>>;
}> {
  const endpoint = await ensureTemporal(stateDir(), process.env);
  const { client, close } = await connectClient(endpoint);
  try {
    const target = monitorTaskQueue(workflowBuild());
    const r = await ensureMonitor(client, spec, target);
    log(
      `monitor: ${r.workflowId} ${r.action === 'keep' ? `already running (${r.detail})` : `${r.action}: ${r.detail}`}`,
    );
    // The other clusters of this state directory follow the same
    // build (the supervised worker does the same when it starts).
    const others = (await storedClusters(stateDir())).filter((c) => c !== spec.name);
    for (const o of await handOffMonitors(client, others, target, await queuePolled(client, target))) {
      if ('error' in o) log(`monitor: monitor-${o.cluster} not handed over: ${o.error}`);
      else if (o.action === 'move' || o.action === 'restart')
        log(`monitor: monitor-${o.cluster} ${o.action}: ${o.detail}`);
    }
    // Several hosts: the health check and the certificate rotation refuse such a cluster so far; a
    // schedule would start a run that fails every interval.
    const severalHosts = isMultiHost(spec);
    const healthSchedule = severalHosts ? undefined : await ensureHealthSchedule(client, spec);
    log(
      healthSchedule
        ? `health: schedule ${healthSchedule.scheduleId} ${healthSchedule.outcome} (every ` +
            `${spec.health.intervalSeconds} s)`
        : 'health: no schedule (the health check does not run on several hosts yet)',
    );
    const certsSchedule = severalHosts ? undefined : await ensureCertsSchedule(client, spec);
    log(
      certsSchedule
        ? `certs: schedule ${certsSchedule.scheduleId} ${certsSchedule.outcome} (every ${spec.tls.renewCheckHours} h)`
        : 'certs: no schedule (certificate rotation does not run on several hosts yet)',
    );
    const restorePointSchedule = await ensureRestorePointSchedule(client, spec);
    log(
      restorePointSchedule
        ? `restore points: schedule ${restorePointSchedule.scheduleId} ${restorePointSchedule.outcome} (every ` +
            `${spec.backup.restorePointMinutes} min)`
        : 'restore points: no schedule (backup.enabled: false)',
    );
    const backupSchedule = await ensureBackupSchedule(client, spec);
    log(
      `backup: schedule ${backupSchedule.scheduleId} ${backupSchedule.outcome}` +
        (spec.backup.enabled ? ` (every ${spec.backup.intervalHours} h)` : ' (backups disabled in the spec)'),
    );
    const verifyBackupSchedule = await ensureVerifyBackupSchedule(client, spec);
    log(
      `verify-backup: schedule ${verifyBackupSchedule.scheduleId} ${verifyBackupSchedule.outcome}` +
        (spec.backup.enabled
          ? ` (a verified restore every ${spec.backup.verifyIntervalHours} h)`
          : ' (backups disabled in the spec)'),
    );
    return { ...r, healthSchedule, certsSchedule, restorePointSchedule, backupSchedule, verifyBackupSchedule };
  } finally {
    await close();
  }
}

/** Sends `pause` or `resume` to the monitor; the answer is the maintenance state now in force. */
export async function setMaintenance(
  spec: ClusterSpec,
  update: 'pause' | 'resume',
  input: MaintenanceInput,
): Promise<unknown> {
  const endpoint = await ensureTemporal(stateDir(), process.env);
  const { client, close } = await connectClient(endpoint);
  try {
    const handle = client.workflow.getHandle(monitorWorkflowId(spec.name));
    const d = await handle.describe().catch(() => undefined);
    if (d?.status.name !== 'RUNNING')
      throw new Error(`the monitor ${monitorWorkflowId(spec.name)} is not running: \`citusctl up\` starts it`);
    return await handle.executeUpdate(update, { args: [input] });
  } finally {
    await close();
  }
}
