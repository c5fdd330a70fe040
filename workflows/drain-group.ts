/**
 * drainGroup (`drain-<cluster>-<group>`, `citusctl drain <group>`): empty a worker group and remove
 * it. Checked first (never the last worker group, never more data than the others can hold), then
 * marked so Citus places nothing on it, drained by the followed rebalance (drain only), verified
 * empty under the group's lock, and removed: the stored spec (the monitor reloads it and stops
 * watching the group), the Citus node, its standbys' slots, its containers (volumes only with
 * `volumes`), its etcd keys. From the UI: `{"cluster": "demo", "group": "g3"}`.
 */
import { getExternalWorkflowHandle, workflowInfo } from '@temporalio/workflow';
import type { DrainGroupInput } from '../common/inputs';
import { specWithoutGroup } from '../common/topology';
import { monitorWorkflowId } from '../common/workflow-ids';
import { acts } from './activity-proxies';
import { checkedInput, checkTargets } from './checked-input';
import { specFor } from './cluster-input';
import { followedRebalance } from './followed-rebalance';
import { withGroupLock } from './group-lock';
import { reloadSpecSignal } from './monitor-signals';
import { trackProgress } from './progress-query';
import type { Progress } from '../common/progress';
import { tagWorkflow } from './tag-workflow';

/** `{"cluster": "demo", "group": "g3"}` (optional `volumes`, `transferMode`); schema in common/inputs. */
export type { DrainGroupInput };

export interface DrainGroupResult {
  /** Every step's final state (see SetupClusterResult.progress). */
  progress?: Progress;
  cluster: string;
  group: string;
  jobs: number[];
  movesDone: number;
  bytesMoved: number;
  removedContainers: string[];
  removedVolumes: string[];
  droppedSlots: string[];
  deletedKeys: number;
}

export const DRAIN_STEPS = [
  'validate',
  'check',
  'mark',
  'start',
  'moves',
  'lock',
  'verify',
  'spec',
  'remove-node',
  'containers',
  'etcd',
] as const;

export async function drainGroup(started: DrainGroupInput): Promise<DrainGroupResult> {
  const progress = trackProgress('drainGroup', DRAIN_STEPS);
  // The whole input before anything: a bad transfer mode must not leave the group marked and undrained.
  const { input, spec, group } = await progress.run(
    'validate',
    async () => {
      const i = checkedInput('drainGroup', started);
      const s = await specFor(i);
      checkTargets('drainGroup', s, { group: i.group, workerGroup: true });
      await tagWorkflow(s.name, i.group);
      return { input: i, spec: s, group: i.group };
    },
    (r) => `${r.spec.name}: drain ${r.group}`,
  );

  const primaries = await acts.readLivePrimaries(spec);
  const check = await progress.run(
    'check',
    () => acts.checkDrain({ spec, primaries, group, volumes: input.volumes ?? false }),
    (r) =>
      r.removed
        ? 'no longer a Citus node (an earlier run removed it): clean-up only'
        : `${r.placements} placements, ${(r.bytesToMove / 1024 / 1024).toFixed(1)} MB to move`,
  );
  let moved = { jobs: [] as number[], movesDone: 0, bytesMoved: 0 };
  if (check.removed) {
    for (const step of ['mark', 'start', 'moves'] as const) progress.skip(step, 'removed by an earlier run');
  } else {
    await progress.run(
      'mark',
      () => acts.markDraining({ spec, primaries, group }),
      (r) => (r.changed ? 'shouldhaveshards = false' : 'already marked'),
    );
    const r = await followedRebalance(
      progress,
      { start: 'start', moves: 'moves' },
      { spec, drainOnly: true, transferMode: input.transferMode ?? 'auto' },
    );
    moved = { jobs: r.jobs, movesDone: r.final?.movesDone ?? 0, bytesMoved: r.final?.bytesMoved ?? 0 };
  }

  const owner = `${workflowInfo().workflowId}/${workflowInfo().runId}`;
  progress.start('lock');
  const removed = await withGroupLock(spec, group, owner, async (assertHeld) => {
    progress.finish('lock', owner);
    // Read again under the lock: a failover during the moves may have changed the group's primary.
    const live = await acts.readLivePrimaries(spec);
    await progress.run(
      'verify',
      () => acts.verifyDrained({ spec, primaries: live, group }),
      () => 'no placement left',
    );
    await progress.run(
      'spec',
      async () => {
        const r = await acts.storeClusterSpec(specWithoutGroup(spec, group));
        // The monitor re-reads the stored spec and stops watching (and re-creating) the group.
        await getExternalWorkflowHandle(monitorWorkflowId(spec.name))
          .signal(reloadSpecSignal)
          .catch(() => undefined);
        return r;
      },
      () => `${group} left the stored spec; the monitor reloads it`,
    );
    await assertHeld();
    await progress.run(
      'remove-node',
      () => acts.removeWorkerNode({ spec, primaries: live, group }),
      (r) => (r.removed ? `removed ${live.workers[group]} from Citus` : 'not a Citus node'),
    );
    await assertHeld();
    return progress.run(
      'containers',
      () => acts.removeGroupContainers({ spec, primaries: live, group, volumes: input.volumes ?? false }),
      (r) =>
        `${r.removedContainers.length} containers ` +
        `removed${r.removedVolumes.length ? `, ${r.removedVolumes.length} volumes` : ', volumes kept'}; slots ` +
        `dropped: ${r.droppedSlots.join(', ') || 'none'}`,
    );
  });
  const etcd = await progress.run(
    'etcd',
    () => acts.forgetGroup({ spec, group }),
    (r) => `${r.deletedKeys} keys deleted`,
  );
  return {
    cluster: spec.name,
    group,
    ...moved,
    ...removed,
    deletedKeys: etcd.deletedKeys,
    progress: progress.snapshot(),
  };
}
