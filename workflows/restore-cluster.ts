/**
 * restoreCluster (`restore-<new>`): a new cluster whose every group is restored to the same named
 * restore point from another cluster's backups (or its own, in place after `down --volumes`), then
 * set up as any cluster (standbys, PgBouncer, etcd, TLS with its own CA) by setupCluster as a
 * child workflow. Every step checks before it acts: a restore that crashes halfway resumes.
 * From the UI: `{"as": "demo2", "from": "demo", "target": {"point": "r-..."}}` (or `{"time": ISO}`,
 * `{"latest": true}`); optional `spec` (ports and settings), `freePorts`, `scratch`.
 */
import { executeChild } from '@temporalio/workflow';
import type { RestoreClusterInput } from '../common/inputs';
import { groupsOf } from '../common/topology';
import { setupWorkflowId } from '../common/workflow-ids';
import type { ClusterSpec } from '../common/spec';
import type { RestorePlan } from '../activities/backup/restore-plan';
import type { RestoreFinish } from '../activities/backup/restore-finish';
import { acts, longRunning, validation } from './activity-proxies';
import { checkedInput } from './checked-input';
import { trackProgress } from './progress-query';
import type { Progress } from '../common/progress';
import { setupCluster, type SetupClusterResult } from './setup-cluster';
import { childSearchAttributes, tagWorkflow } from './tag-workflow';

export type { RestoreClusterInput };

const childTags = (cluster: string) => {
  const typedSearchAttributes = childSearchAttributes(cluster);
  return typedSearchAttributes ? { typedSearchAttributes } : {};
};

const phasesNote = (ms: Record<string, number> | undefined) =>
  ms?.total === undefined
    ? ''
    : ` in ${(ms.total / 1000).toFixed(1)} s (` +
      Object.entries(ms)
        .filter(([k]) => k !== 'total')
        .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}`)
        .join(', ') +
      ')';

export const RESTORE_STEPS = ['validate', 'volumes', 'restore-data', 'setup', 'check'] as const;

export interface RestoreClusterResult {
  /** Every step's final state (see SetupClusterResult.progress). */
  progress?: Progress;
  cluster: string;
  from: string;
  inPlace: boolean;
  /** The restore point every group was restored to, and why it was chosen. */
  point: string;
  pointCreatedAt: string;
  note: string;
  backupId: string;
  /** The new cluster's spec (its ports: picked free ones, the spec file's, or the backup's own). */
  spec: ClusterSpec;
  portsPicked: boolean;
  /** Each group's restored member: its new primary. */
  primaries: Record<string, string>;
  /** Per group: where its restore's time went, ms (restore-group.sh's phases and the activity's total). */
  groupMs: Record<string, Record<string, number>>;
  /** Per table: rows recorded at the point (null when the point counted none). */
  rowCounts: Record<string, number> | null;
  setup: SetupClusterResult;
  finish: RestoreFinish;
}

export async function restoreCluster(started: RestoreClusterInput): Promise<RestoreClusterResult> {
  const progress = trackProgress('restoreCluster', RESTORE_STEPS);
  const plan: RestorePlan = await progress.run(
    'validate',
    async () => {
      const input = checkedInput('restoreCluster', started);
      await tagWorkflow(input.as);
      // Everything is decided here, before anything is created: the point, the spec, its ports.
      return validation.planRestore(input);
    },
    (p) => `${p.note}; ${p.inPlace ? 'in place' : `from ${p.from}`}`,
  );
  const { spec, point, backup } = plan;
  const groups = groupsOf(spec);
  await progress.run(
    'volumes',
    () => acts.createRestoreVolumes({ spec }),
    (r) => `${r.volumes.length} primary volumes`,
  );
  const restored = await progress.run(
    'restore-data',
    () =>
      Promise.all(
        groups.map((g) =>
          longRunning.restoreGroupData({
            spec,
            from: plan.from,
            group: g.group,
            member: g.primary.name,
            label: backup.groups[g.group]!.label,
            point: point.name,
          }),
        ),
      ),
    (r) => r.map((x) => `${x.group} -> ${x.member}${x.restored ? phasesNote(x.ms) : ' (done before)'}`).join(', '),
  );
  const setup = await progress.run(
    'setup',
    () =>
      executeChild(setupCluster, {
        workflowId: setupWorkflowId(spec.name),
        args: [{ spec, restored: true, applySpecChange: true }],
        ...childTags(spec.name),
      }),
    (r) => `${r.replication.length} standbys, PgBouncer on ${spec.pgbouncer.port}`,
  );
  const finish = await progress.run(
    'check',
    () => acts.finishRestore({ spec, coordinator: setup.primaries.coordinator }),
    (r) => `${r.nodeHealth.length} node pairs healthy; ${r.recoveredTransactions} prepared transactions resolved`,
  );
  return {
    cluster: spec.name,
    from: plan.from,
    inPlace: plan.inPlace,
    point: point.name,
    pointCreatedAt: point.createdAt,
    note: plan.note,
    backupId: backup.id,
    spec,
    portsPicked: plan.portsPicked,
    primaries: Object.fromEntries(restored.map((r) => [r.group, r.member])),
    groupMs: Object.fromEntries(restored.map((r) => [r.group, r.ms ?? {}])),
    progress: progress.snapshot(),
    rowCounts: point.rowCounts,
    setup,
    finish,
  };
}
