/**
 * unfenceMember (id `unfence-<cluster>-<member>`): lifts a member's fence safely. The group's
 * recorded primary (fenced by a failover that then changed nothing else) becomes primary again,
 * refused while another member of the group is writable; any other member rejoins as a standby
 * of the group's primary.
 */
import { ApplicationFailure, defineQuery, setHandler, workflowInfo } from '@temporalio/workflow';
import { ErrorTypes } from '../common/error-types';
import { ProgressTracker, type Progress } from '../common/progress';
import { acts } from './activity-proxies';
import { specFor, type ClusterRef } from './cluster-input';
import { groupMembers, rejoinOthers } from './group-helpers';
import { withGroupLock } from './group-lock';
import { tagWorkflow } from './tag-workflow';

/** `{spec, member}` as the CLI sends it, or `{"cluster": "demo", "member": "g1-a"}`. */
export interface UnfenceMemberInput extends ClusterRef {
  member: string;
}

export interface UnfenceMemberResult {
  member: string;
  primary: string;
  action: 'serving-as-primary' | 'rejoined-as-standby';
  detail: string;
}

export const UNFENCE_STEPS = ['validate', 'lock', 'unfence'] as const;
export const unfenceProgressQuery = defineQuery<Progress>('progress');

export async function unfenceMemberWorkflow(input: UnfenceMemberInput): Promise<UnfenceMemberResult> {
  const progress = new ProgressTracker('unfenceMember', UNFENCE_STEPS, () => Date.now());
  setHandler(unfenceProgressQuery, () => progress.snapshot());
  const spec = await progress.run('validate', () => specFor(input));
  const member = spec.members.find((m) => m.name === input.member);
  if (!member) throw ApplicationFailure.nonRetryable(`unknown member ${input.member}`, ErrorTypes.BadConfig);
  await tagWorkflow(spec.name, member.group);
  progress.start('lock');
  return withGroupLock(spec, member.group, `${workflowInfo().workflowId}/${workflowInfo().runId}`, async (assertHeld) => {
    progress.finish('lock');
    const primaries = await acts.readLivePrimaries(spec);
    const { oldPrimary: primary, standbys } = groupMembers(spec, primaries, member.group);
    await assertHeld();
    return progress.run('unfence', async () => {
      if (primary === member.name) {
        await acts.unfencePrimary({ spec, member: member.name, others: standbys });
        await acts.configureDurability({ spec, primary: member.name, standbys });
        return { member: member.name, primary, action: 'serving-as-primary' as const, detail: `${member.name} is the primary of ${member.group} again` };
      }
      const r = await rejoinOthers(spec, primary, [member.name]);
      if (!r.streaming.length) throw ApplicationFailure.nonRetryable(`${member.name} did not rejoin: ${r.failed.join('; ')}`, ErrorTypes.RejoinFailed);
      return { member: member.name, primary, action: 'rejoined-as-standby' as const, detail: `${member.name} streams from ${primary}` };
    }, (r) => r.detail);
  });
}
