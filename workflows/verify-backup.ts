/**
 * verifyBackup (`verify-backup-<cluster>`: the Schedule's runs and `citusctl verify-backup`): proves
 * that the newest backup restores. It restores the backup to its own restore point into a scratch
 * cluster on free ports (the restoreCluster child), checks it (every Citus table readable, row
 * counts equal to those recorded at the point, citus_check_cluster_node_health() all true), records
 * the result in the source cluster's catalog, and always removes the scratch cluster: after a
 * failed check, a failed restore, and a cancellation too.
 *
 * A failed proof is recorded, then fails the workflow (non-retryable VerificationFailed): the
 * Temporal UI's history shows it red. A cluster with no backup yet has nothing to prove: the run
 * completes with `verified: false` and records nothing.
 * From the UI: `{"cluster": "demo"}`.
 */
import {
  ApplicationFailure,
  CancellationScope,
  executeChild,
  isCancellation,
  workflowInfo,
} from '@temporalio/workflow';
import type { VerificationRecord } from '../common/backup-records';
import { timeId } from '../common/backup-records';
import {
  describeVerification,
  scratchClusterName,
  scratchRestoreInput,
  verificationOutcome,
} from '../common/backup-verification';
import { errorMessage } from '../common/error-message';
import { ErrorTypes } from '../common/error-types';
import type { VerifyBackupInput } from '../common/inputs';
import { restoreWorkflowId } from '../common/workflow-ids';
import type { ScratchRemoval } from '../activities/backup/verify-backup';
import { acts, longRunning, validation } from './activity-proxies';
import { checkedInput } from './checked-input';
import { specFor } from './cluster-input';
import { trackProgress } from './progress-query';
import { restoreCluster } from './restore-cluster';
import { childSearchAttributes, tagWorkflow } from './tag-workflow';

const childTags = (cluster: string) => {
  const typedSearchAttributes = childSearchAttributes(cluster);
  return typedSearchAttributes ? { typedSearchAttributes } : {};
};

export type { VerifyBackupInput };

export const VERIFY_STEPS = ['validate', 'choose', 'restore', 'check', 'record', 'cleanup'] as const;

export interface VerifyBackupResult {
  cluster: string;
  /** false: there was no backup to prove yet (nothing restored, nothing recorded). */
  verified: boolean;
  ok: boolean;
  reason?: string;
  record?: VerificationRecord;
  scratchCluster?: string;
  removed?: ScratchRemoval;
}

export async function verifyBackup(started: VerifyBackupInput): Promise<VerifyBackupResult> {
  const progress = trackProgress('verifyBackup', VERIFY_STEPS);
  const spec = await progress.run('validate', async () => {
    const s = await specFor(checkedInput('verifyBackup', started));
    await tagWorkflow(s.name);
    return s;
  });
  const choice = await progress.run(
    'choose',
    () => acts.backupToVerify({ spec }),
    (c) => (c.found ? `backup ${c.backupId}, restore point ${c.restorePoint}` : c.reason),
  );
  if (!choice.found) {
    for (const step of VERIFY_STEPS.slice(2)) progress.skip(step, 'no backup to verify');
    return { cluster: spec.name, verified: false, ok: false, reason: choice.reason };
  }

  const startedAt = new Date(Date.now());
  const scratch = scratchClusterName(spec.name, startedAt);
  const problems: string[] = [];
  let tables: VerificationRecord['tables'] = {};
  let record: VerificationRecord | undefined;
  let removed: ScratchRemoval | undefined;
  try {
    const point = choice.point;
    if (!point) {
      problems.push(`restore point ${choice.restorePoint} of backup ${choice.backupId} is not in the catalog`);
      for (const step of ['restore', 'check'] as const) progress.skip(step, 'no restore point to restore to');
    } else {
      let step = 'the restore into';
      try {
        await progress.run(
          'restore',
          () =>
            executeChild(restoreCluster, {
              workflowId: restoreWorkflowId(scratch),
              args: [scratchRestoreInput(spec.name, scratch, point.name)],
              ...childTags(scratch),
            }),
          () => `${scratch} restored to ${point.name}`,
        );
        step = 'the check of';
        const scratchSpec = await validation.loadClusterSpec({ cluster: scratch });
        const view = await progress.run(
          'check',
          () => longRunning.checkRestoredCluster({ spec: scratchSpec }),
          (v) => `${v.tables.length} table(s) counted`,
        );
        const outcome = verificationOutcome(point.rowCounts, view);
        problems.push(...outcome.problems);
        tables = outcome.tables;
        if (!point.rowCounts) progress.note('check', 'the restore point recorded no row counts: readability only');
      } catch (err) {
        if (isCancellation(err)) throw err;
        problems.push(`${step} ${scratch} did not complete: ${errorMessage(err)}`);
      }
    }
    record = {
      id: timeId('v', startedAt),
      cluster: spec.name,
      backupId: choice.backupId,
      restorePoint: choice.restorePoint,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date(Date.now()).toISOString(),
      ok: problems.length === 0,
      problems,
      tables,
      scratchCluster: scratch,
    };
    const r = record;
    await progress.run(
      'record',
      () => acts.recordVerification({ spec, record: r }),
      () => describeVerification(r),
    );
  } finally {
    // Also when cancelled (the UI's Cancel, `citusctl down`): the scratch cluster never outlives its check.
    removed = await CancellationScope.nonCancellable(() =>
      progress.run(
        'cleanup',
        () => acts.removeScratchCluster({ scratch, source: spec.name, keep: workflowInfo().workflowId }),
        (x) => `${scratch}: ${x.removedContainers.length} containers, ${x.removedVolumes.length} volumes removed`,
      ),
    );
  }
  if (!record.ok)
    throw ApplicationFailure.create({
      type: ErrorTypes.VerificationFailed,
      message: `backup verification failed: ${describeVerification(record)}`,
      nonRetryable: true,
      details: [record],
    });
  return { cluster: spec.name, verified: true, ok: true, record, scratchCluster: scratch, removed };
}
