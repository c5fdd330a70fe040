/**
 * The opening every runbook on one group shares (failover, switchover, rejoin, unfence): progress
 * and its query, the whole input checked against the workflow's schema, resolved to a spec
 * (cluster-input.ts), the target group (or the member's group) checked against that spec before
 * anything is locked, the workflow tagged, the group's etcd lock taken, and the live primaries
 * read under it. The runbook's own steps run in `body`, still under the lock.
 */
import { workflowInfo } from '@temporalio/workflow';
import type { InputTargets } from '../common/inputs/against-spec';
import type { WorkflowInput } from '../common/inputs';
import type { ProgressTracker } from '../common/progress';
import type { ClusterSpec } from '../common/spec';
import type { Primaries } from '../common/topology';
import { acts } from './activity-proxies';
import { checkedInput, checkTargets } from './checked-input';
import { refuseSeveralHosts, specFor } from './cluster-input';
import { groupMembers } from './group-helpers';
import { withGroupLock, type GroupLockOptions } from './group-lock';
import { trackProgress } from './progress-query';
import { tagWorkflow } from './tag-workflow';

type GroupWorkflow = 'failoverGroup' | 'switchoverGroup' | 'rejoinMemberWorkflow' | 'unfenceMemberWorkflow';
type Target = ({ group: string } | { member: string }) & Pick<InputTargets, 'to' | 'candidates'>;

export interface GroupOperationOptions<W extends GroupWorkflow> {
  /** The workflow type: its input schema. */
  type: W;
  /** The name the progress query reports, e.g. 'failoverGroup'. */
  workflow: string;
  /** The workflow's steps; the first two are 'validate' and 'lock'. */
  steps: readonly string[];
  /** The input as started: checked here before anything else reads it. */
  input: unknown;
  /** The group acted on, or a member (its group is locked); `to`/`candidates` must be members of the group. */
  target: (input: WorkflowInput<W>) => Target;
  lock?: (input: WorkflowInput<W>) => GroupLockOptions;
  /**
   * Whether the runbook works on several hosts: absent, it refuses them; else a refusal to name
   * (the part that does not work there yet), checked before the lock, or undefined to go on.
   */
  severalHosts?: (input: WorkflowInput<W>, group: string) => string | undefined;
}

/** What the runbook's body gets: everything read under the lock. */
export interface LockedGroup {
  spec: ClusterSpec;
  group: string;
  /** `<workflowId>/<runId>`: the lock's owner, and who fenced or promoted (in member states, events). */
  owner: string;
  progress: ProgressTracker;
  primaries: Primaries;
  /** The group's live primary (etcd's word) and its other members. */
  primary: string;
  standbys: string[];
  /** Call right before each change: throws LockLost when the lock is no longer ours. */
  assertHeld: () => Promise<void>;
}

/**
 * The group to lock: an unknown group or member fails here, before the lock (non-retryable BadConfig naming the field).
 */
function targetGroup(workflow: string, spec: ClusterSpec, target: Target): string {
  checkTargets(workflow, spec, target);
  return 'group' in target ? target.group : spec.members.find((m) => m.name === target.member)!.group;
}

export async function groupOperation<W extends GroupWorkflow, T>(
  opts: GroupOperationOptions<W>,
  body: (g: LockedGroup, input: WorkflowInput<W>) => Promise<T>,
): Promise<T> {
  const progress = trackProgress(opts.workflow, opts.steps);
  const { input, spec, group } = await progress.run('validate', async () => {
    const i = checkedInput(opts.type, opts.input);
    const s = await specFor(i, 'stored', opts.severalHosts ? 'supported' : 'refuse');
    const g = targetGroup(opts.type, s, opts.target(i));
    const refusal = opts.severalHosts?.(i, g);
    if (refusal) refuseSeveralHosts(s, refusal);
    return { input: i, spec: s, group: g };
  });
  await tagWorkflow(spec.name, group);
  const owner = `${workflowInfo().workflowId}/${workflowInfo().runId}`;

  progress.start('lock');
  return withGroupLock(
    spec,
    group,
    owner,
    async (assertHeld) => {
      progress.finish('lock', owner);
      // Read under the lock: another orchestrator may have changed the group just before.
      const primaries = await acts.readLivePrimaries(spec);
      const { oldPrimary: primary, standbys } = groupMembers(spec, primaries, group);
      return body({ spec, group, owner, progress, primaries, primary, standbys, assertHeld }, input);
    },
    opts.lock?.(input),
  );
}
