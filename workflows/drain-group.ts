/**
 * drainGroup (`drain-<cluster>-<group>`, `citusctl drain <group>`): empty a worker group and remove
 * it. Checked first (never the last worker group, never more data than the others can hold), then
 * marked so Citus places nothing on it, drained by the followed rebalance (drain only), verified
 * empty under the group's lock, and removed: the stored spec (the monitor reloads it and stops
 * watching the group), the Citus node, its standbys' slots, its containers (volumes only with
 * `volumes`), its etcd keys. From the UI: `{"cluster": "demo", "group": "g3"}`.
 */
import { ApplicationFailure, getExternalWorkflowHandle, workflowInfo } from '@temporalio/workflow';
import { ErrorTypes } from '../common/error-types';
import type { TransferMode } from '../common/rebalance';
import { COORDINATOR_GROUP, specWithoutGroup } from '../common/topology';
import { monitorWorkflowId } from '../common/workflow-ids';
import { acts } from './activity-proxies';
import { specFor, type ClusterRef } from './cluster-input';
import { followedRebalance } from './followed-rebalance';
import { withGroupLock } from './group-lock';
import { reloadSpecSignal } from './monitor-signals';
import { trackProgress } from './progress-query';
import { tagWorkflow } from './tag-workflow';

export interface DrainGroupInput extends ClusterRef {
  group: string;
  /** Also delete the group's data volumes (default: kept). */
  volumes?: boolean;
  transferMode?: TransferMode;
}

export interface DrainGroupResult {
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

export const DRAIN_STEPS = ['validate', 'check', 'mark', 'start', 'moves', 'lock', 'verify', 'spec', 'remove-node', 'containers', 'etcd'] as const;

export async function drainGroup(input: DrainGroupInput): Promise<DrainGroupResult> {
  const progress = trackProgress('drainGroup', DRAIN_STEPS);
  const { spec, group } = await progress.run('validate', async () => {
    const s = await specFor(input);
    const g = input.group;
    if (g === COORDINATOR_GROUP) throw ApplicationFailure.nonRetryable('the coordinator group cannot be drained (it holds the metadata)', ErrorTypes.BadConfig);
    if (!s.workers.includes(g)) throw ApplicationFailure.nonRetryable(`unknown worker group ${JSON.stringify(g)} (worker groups of ${s.name}: ${s.workers.join(', ')})`, ErrorTypes.BadConfig);
    await tagWorkflow(s.name, g);
    return { spec: s, group: g };
  }, (r) => `${r.spec.name}: drain ${r.group}`);

  const primaries = await acts.readLivePrimaries(spec);
  const check = await progress.run('check', () => acts.checkDrain({ spec, primaries, group }), (r) =>
    r.removed ? 'no longer a Citus node (an earlier run removed it): clean-up only' : `${r.placements} placements, ${(r.bytesToMove / 1024 / 1024).toFixed(1)} MB to move`,
  );
  let moved = { jobs: [] as number[], movesDone: 0, bytesMoved: 0 };
  if (check.removed) {
    for (const step of ['mark', 'start', 'moves'] as const) progress.skip(step, 'removed by an earlier run');
  } else {
    await progress.run('mark', () => acts.markDraining({ spec, primaries, group }), (r) => (r.changed ? 'shouldhaveshards = false' : 'already marked'));
    const r = await followedRebalance(progress, { start: 'start', moves: 'moves' }, { spec, drainOnly: true, transferMode: input.transferMode ?? 'auto' });
    moved = { jobs: r.jobs, movesDone: r.final?.movesDone ?? 0, bytesMoved: r.final?.bytesMoved ?? 0 };
  }

  const owner = `${workflowInfo().workflowId}/${workflowInfo().runId}`;
  progress.start('lock');
  const removed = await withGroupLock(spec, group, owner, async (assertHeld) => {
    progress.finish('lock', owner);
    // Read again under the lock: a failover during the moves may have changed the group's primary.
    const live = await acts.readLivePrimaries(spec);
    await progress.run('verify', () => acts.verifyDrained({ spec, primaries: live, group }), () => 'no placement left');
    await progress.run('spec', async () => {
      const r = await acts.storeClusterSpec(specWithoutGroup(spec, group));
      // The monitor re-reads the stored spec and stops watching (and re-creating) the group.
      await getExternalWorkflowHandle(monitorWorkflowId(spec.name)).signal(reloadSpecSignal).catch(() => undefined);
      return r;
    }, () => `${group} left the stored spec; the monitor reloads it`);
    await assertHeld();
    await progress.run('remove-node', () => acts.removeWorkerNode({ spec, primaries: live, group }), (r) => (r.removed ? `removed ${live.workers[group]} from Citus` : 'not a Citus node'));
    await assertHeld();
    return progress.run('containers', () => acts.removeGroupContainers({ spec, primaries: live, group, volumes: input.volumes ?? false }), (r) =>
      `${r.removedContainers.length} containers removed${r.removedVolumes.length ? `, ${r.removedVolumes.length} volumes` : ', volumes kept'}; slots dropped: ${r.droppedSlots.join(', ') || 'none'}`,
    );
  });
  const etcd = await progress.run('etcd', () => acts.forgetGroup({ spec, group }), (r) => `${r.deletedKeys} keys deleted`);
  return { cluster: spec.name, group, ...moved, ...removed, deletedKeys: etcd.deletedKeys };
}
