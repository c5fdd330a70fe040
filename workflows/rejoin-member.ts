/** rejoinMember (id `rejoin-<cluster>-<member>`): rebuild a member as a streaming standby of its group's primary. */
import { ApplicationFailure, defineQuery, setHandler, workflowInfo } from '@temporalio/workflow';
import { ErrorTypes } from '../common/error-types';
import { ProgressTracker, type Progress } from '../common/progress';
import { acts } from './activity-proxies';
import { specFor, type ClusterRef } from './cluster-input';
import { describeRejoin, groupMembers, rejoinOthers, type RejoinReport } from './group-helpers';
import { withGroupLock } from './group-lock';
import { tagWorkflow } from './tag-workflow';

/** `{spec, member}` as the CLI sends it, or `{"cluster": "demo", "member": "g1-a"}`. */
export interface RejoinMemberInput extends ClusterRef {
  member: string;
}

export const REJOIN_STEPS = ['validate', 'lock', 'rejoin'] as const;
export const rejoinProgressQuery = defineQuery<Progress>('progress');

export async function rejoinMemberWorkflow(input: RejoinMemberInput): Promise<RejoinReport & { primary: string }> {
  const progress = new ProgressTracker('rejoinMember', REJOIN_STEPS, () => Date.now());
  setHandler(rejoinProgressQuery, () => progress.snapshot());
  const spec = await progress.run('validate', () => specFor(input));
  const member = spec.members.find((m) => m.name === input.member);
  if (!member) throw ApplicationFailure.nonRetryable(`unknown member ${input.member}`, 'BadConfig');
  await tagWorkflow(spec.name, member.group);
  progress.start('lock');
  return withGroupLock(spec, member.group, `${workflowInfo().workflowId}/${workflowInfo().runId}`, async (assertHeld) => {
    progress.finish('lock');
    const primaries = await acts.readLivePrimaries(spec);
    const { oldPrimary: primary } = groupMembers(spec, primaries, member.group);
    if (primary === member.name) throw ApplicationFailure.nonRetryable(`${member.name} is the primary of ${member.group}; nothing to rejoin (if it is fenced, \`citusctl unfence ${member.name}\` makes it serve again)`, ErrorTypes.BadConfig);
    await assertHeld();
    const r = await progress.run('rejoin', async () => {
      const report = await rejoinOthers(spec, primary, [member.name]);
      if (!report.streaming.length) throw ApplicationFailure.nonRetryable(`${member.name} did not rejoin: ${report.failed.join('; ')}`, ErrorTypes.RejoinFailed);
      return report;
    }, describeRejoin);
    return { ...r, primary };
  });
}
