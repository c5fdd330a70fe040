/** rejoinMember (id `rejoin-<cluster>-<member>`): rebuild a member as a streaming standby of its group's primary. */
import { ApplicationFailure } from '@temporalio/workflow';
import { ErrorTypes } from '../common/error-types';
import type { ClusterRef } from './cluster-input';
import { describeRejoin, rejoinOthers, type RejoinReport } from './group-helpers';
import { groupOperation } from './group-operation';

/** `{spec, member}` as the CLI sends it, or `{"cluster": "demo", "member": "g1-a"}`. */
export interface RejoinMemberInput extends ClusterRef {
  member: string;
}

export const REJOIN_STEPS = ['validate', 'lock', 'rejoin'] as const;

export async function rejoinMemberWorkflow(input: RejoinMemberInput): Promise<RejoinReport & { primary: string }> {
  return groupOperation({ workflow: 'rejoinMember', steps: REJOIN_STEPS, input, target: { member: input.member } }, async ({ spec, group, progress, primary, assertHeld }) => {
    const member = input.member;
    if (primary === member) throw ApplicationFailure.nonRetryable(`${member} is the primary of ${group}; nothing to rejoin (if it is fenced, \`citusctl unfence ${member}\` makes it serve again)`, ErrorTypes.BadConfig);
    await assertHeld();
    const r = await progress.run('rejoin', async () => {
      const report = await rejoinOthers(spec, primary, [member]);
      if (!report.streaming.length) throw ApplicationFailure.nonRetryable(`${member} did not rejoin: ${report.failed.join('; ')}`, ErrorTypes.RejoinFailed);
      return report;
    }, describeRejoin);
    return { ...r, primary };
  });
}
