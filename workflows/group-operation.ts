/**
 * The opening every runbook on one group shares (failover, switchover, rejoin, unfence): progress
 * and its query, the input resolved to a spec (cluster-input.ts), the target group (or the member's
 * group) checked before anything is locked, the workflow tagged, the group's etcd lock taken, and
 * the live primaries read under it. The runbook's own steps run in `body`, still under the lock.
 */
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import { ErrorTypes } from '../common/error-types';
import type { ProgressTracker } from '../common/progress';
import type { ClusterSpec } from '../common/spec';
import type { Primaries } from '../common/topology';
import { acts } from './activity-proxies';
import { specFor, type ClusterRef } from './cluster-input';
import { groupMembers } from './group-helpers';
import { withGroupLock, type GroupLockOptions } from './group-lock';
import { trackProgress } from './progress-query';
import { tagWorkflow } from './tag-workflow';

export interface GroupOperationOptions {
  /** The name the progress query reports, e.g. 'failoverGroup'. */
  workflow: string;
  /** The workflow's steps; the first two are 'validate' and 'lock'. */
  steps: readonly string[];
  input: ClusterRef;
  /** The group acted on, or a member (its group is locked). */
  target: { group: string } | { member: string };
  lock?: GroupLockOptions;
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

/** The group to lock: an unknown group or member fails here, before the lock (non-retryable BadConfig). */
function targetGroup(spec: ClusterSpec, target: GroupOperationOptions['target']): string {
  if ('group' in target) {
    groupMembers(spec, undefined, target.group);
    return target.group;
  }
  const member = spec.members.find((m) => m.name === target.member);
  if (!member) throw ApplicationFailure.nonRetryable(`unknown member ${target.member}`, ErrorTypes.BadConfig);
  return member.group;
}

export async function groupOperation<T>(opts: GroupOperationOptions, body: (g: LockedGroup) => Promise<T>): Promise<T> {
  const progress = trackProgress(opts.workflow, opts.steps);
  const spec = await progress.run('validate', () => specFor(opts.input));
  const group = targetGroup(spec, opts.target);
  await tagWorkflow(spec.name, group);
  const owner = `${workflowInfo().workflowId}/${workflowInfo().runId}`;

  progress.start('lock');
  return withGroupLock(spec, group, owner, async (assertHeld) => {
    progress.finish('lock', owner);
    // Read under the lock: another orchestrator may have changed the group just before.
    const primaries = await acts.readLivePrimaries(spec);
    const { oldPrimary: primary, standbys } = groupMembers(spec, primaries, group);
    return body({ spec, group, owner, progress, primaries, primary, standbys, assertHeld });
  }, opts.lock);
}
