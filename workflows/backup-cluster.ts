/**
 * backupCluster (`backup-<cluster>`: `citusctl backup` and the Schedule's runs): a full base
 * backup of every group in parallel, then one cluster-wide named restore point (named after the
 * backup: its consistent cut), the record in the repository's catalog; then it starts the expiry of
 * backups past retention (never the one the newest verified restore used) as its own workflow
 * `expire-backups-<cluster>` and returns without waiting for it: expiry is housekeeping, the backup
 * is usable once recorded. The result says the expiry was started (or was already running), not
 * what it removed: that is the expiry workflow's result.
 *
 * A group whose backup fails retryably (a failover moved its primary mid-way, a worker died) is
 * tried again on the group's current primary, and the progress says so; after
 * GROUP_BACKUP_ATTEMPTS the run fails and the schedule's next run starts over.
 * Cancelling the run stops every group's running pgBackRest (the activity hears it through its
 * heartbeat and ends the process in the primary); the run waits until they are stopped.
 * From the UI: `{"cluster": "demo"}`.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  ParentClosePolicy,
  patched,
  proxyActivities,
  sleep,
  startChild,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { WORKFLOW_TASK_TIMEOUT } from '../common/takeover';
import type { BackupGroup, BackupRecord, RestorePointRecord } from '../common/backup-records';
import { timeId } from '../common/backup-records';
import {
  describeGroupBackups,
  GROUP_BACKUP_ATTEMPTS,
  retryDelayMs,
  type GroupBackupState,
} from '../common/backup-progress';
import type { BackupClusterInput } from '../common/inputs';
import { COORDINATOR_GROUP } from '../common/names';
import { expireBackupsWorkflowId } from '../common/workflow-ids';
import type { Activities } from '../activities';
import type { ExpiredBackups } from '../activities/backup/expire';
import type { Progress } from '../common/progress';
import type { ClusterSpec } from '../common/spec';
import { ACTIVITY_OPTIONS, acts, summarized, validation } from './activity-proxies';
import { checkedInput } from './checked-input';
import { specFor } from './cluster-input';
import { describeExpired, expireBackupsWorkflow } from './expire-backups';
import { trackProgress } from './progress-query';
import { childSearchAttributes, tagWorkflow } from './tag-workflow';

export type { BackupClusterInput };

// One attempt per call: the workflow retries a group itself, so the progress can say why. A cancelled
// run waits until each group's activity has stopped its pgBackRest (no backup left running unseen):
// the SDK's default, said here because the stop depends on it.
const baseBackups = summarized(
  proxyActivities<Activities>({
    ...ACTIVITY_OPTIONS.longRunning,
    startToCloseTimeout: '6h',
    retry: { maximumAttempts: 1 },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  }),
);

/**
 * The expiry this backup started, or found running already (then this backup's is left to the next
 * one); `expired-in-run` only for a run replayed from before expiry was a workflow of its own.
 */
export interface BackupExpiry {
  workflowId: string;
  outcome: 'started' | 'already-running' | 'expired-in-run';
  expired?: ExpiredBackups;
}

export interface BackupClusterResult {
  backup: BackupRecord;
  restorePoint: RestorePointRecord;
  expiry: BackupExpiry;
  /**
   * Every step as it ended (what the progress query answers): the CLI prints it without a last
   * query, which a closed workflow answers only by replaying its whole history on a worker.
   */
  progress?: Progress;
}

export const BACKUP_STEPS = ['validate', 'base backups', 'restore point', 'record', 'expire'] as const;

const nonRetryable = (err: unknown) =>
  err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.nonRetryable;
const messageOf = (err: unknown) =>
  err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);

export async function backupCluster(started: BackupClusterInput): Promise<BackupClusterResult> {
  const progress = trackProgress('backupCluster', BACKUP_STEPS);
  const startedAt = new Date(workflowInfo().runStartTime);
  const backupId = timeId('b', startedAt);
  const spec = await progress.run(
    'validate',
    () => validate(checkedInput('backupCluster', started)),
    () => `backup ${backupId}`,
  );

  const groups = [COORDINATOR_GROUP, ...spec.workers];
  const states: Record<string, GroupBackupState> = Object.fromEntries(
    groups.map((g) => [g, { state: 'running', attempt: 1 }]),
  );
  const news = () => progress.note('base backups', describeGroupBackups(states));
  const backupGroup = async (group: string): Promise<BackupGroup> => {
    for (let attempt = 1; ; attempt++) {
      states[group] = { state: 'running', attempt };
      news();
      try {
        const backup = await baseBackups.baseBackupGroup({ spec, group, backupId, attempt });
        states[group] = { state: 'done', backup };
        news();
        return backup;
      } catch (err) {
        if (nonRetryable(err) || attempt >= GROUP_BACKUP_ATTEMPTS) {
          states[group] = { state: 'failed', why: messageOf(err) };
          news();
          throw err;
        }
        states[group] = { state: 'retrying', attempt, why: messageOf(err) };
        news();
        await sleep(retryDelayMs(attempt + 1));
      }
    }
  };
  const backedUp = await progress.run(
    'base backups',
    async () => Object.fromEntries(await Promise.all(groups.map(async (g) => [g, await backupGroup(g)] as const))),
    () => describeGroupBackups(states),
  );
  const finishedAt = new Date(Date.now()).toISOString();

  const restorePoint = await progress.run(
    'restore point',
    () => acts.createRestorePoint({ spec, name: backupId, origin: 'backup', rowCounts: true }),
    (p) => `${p.name} at ${p.createdAt}`,
  );
  const record = () =>
    progress.run(
      'record',
      () =>
        acts.recordBackup({
          record: {
            id: backupId,
            cluster: spec.name,
            startedAt: startedAt.toISOString(),
            finishedAt,
            restorePoint: restorePoint.name,
            groups: backedUp,
            spec,
          },
        }),
      (b) => `${b.id} recorded`,
    );
  // A run that reached this step under the earlier code expired in the run itself: it replays so.
  const expire = () =>
    progress.run(
      'expire',
      () => (patched(EXPIRY_WORKFLOW) ? startExpiry(spec.name) : expireInRun(spec)),
      describeExpiry,
    );
  // Expiry starts while the backup is recorded: it may miss this backup, then it keeps one more than
  // retentionFull until the next run, never fewer (histories from before replay one after the other).
  const [backup, expiry] = patched(RECORD_EXPIRE_AT_ONCE)
    ? await Promise.all([record(), expire()])
    : [await record(), await expire()];
  return { backup, restorePoint, expiry, progress: progress.snapshot() };
}

/** The patch under which the backup is recorded while its expiry starts. */
export const RECORD_EXPIRE_AT_ONCE = 'backup-record-expire-at-once';

/** The patch under which a `{cluster}` input's repository is checked while its spec is read. */
export const VALIDATE_AT_ONCE = 'backup-validate-at-once';

/**
 * The stored spec, and the repository checked, before anything is backed up. Given only the
 * cluster's name, both activities run at once (the check reads the stored spec itself); a failure
 * to read the spec is reported before the check's.
 */
async function validate(input: BackupClusterInput): Promise<ClusterSpec> {
  if (input.spec === undefined && input.cluster !== undefined && patched(VALIDATE_AT_ONCE)) {
    const [read, checked] = await Promise.allSettled([
      specFor(input),
      validation.checkBackupRepository({ cluster: input.cluster }),
    ]);
    if (read.status === 'rejected') throw read.reason;
    if (checked.status === 'rejected') throw checked.reason;
    await tagWorkflow(read.value.name);
    return read.value;
  }
  const s = await specFor(input);
  await tagWorkflow(s.name);
  await validation.checkBackupRepository({ spec: s });
  return s;
}

/** The patch under which expiry is a workflow of its own (histories from before it expired in the run). */
export const EXPIRY_WORKFLOW = 'backup-expiry-workflow';

function describeExpiry(e: BackupExpiry): string {
  if (e.outcome === 'expired-in-run') return e.expired ? describeExpired(e.expired) : 'expired';
  return e.outcome === 'started'
    ? `started ${e.workflowId} (runs on after the backup)`
    : `${e.workflowId} is running already (started earlier); this backup's expiry waits for the next one`;
}

async function expireInRun(spec: ClusterSpec): Promise<BackupExpiry> {
  const expired = await acts.expireBackups({ spec });
  return { workflowId: workflowInfo().workflowId, outcome: 'expired-in-run', expired };
}

/** Starts the cluster's expiry workflow, which outlives this run (ABANDON): the backup does not wait for it. */
async function startExpiry(cluster: string): Promise<BackupExpiry> {
  const workflowId = expireBackupsWorkflowId(cluster);
  const typedSearchAttributes = childSearchAttributes(cluster);
  try {
    await startChild(expireBackupsWorkflow, {
      workflowId,
      args: [{ cluster }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT, // a task on a worker that died is retried in seconds
      ...(typedSearchAttributes ? { typedSearchAttributes } : {}),
    });
    return { workflowId, outcome: 'started' };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, outcome: 'already-running' };
    throw err;
  }
}
