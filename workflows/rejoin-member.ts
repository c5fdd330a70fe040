/** rejoinMember (id `rejoin-<cluster>-<member>`): rebuild a member as a streaming standby of its group's primary. */
import { ApplicationFailure } from '@temporalio/workflow';
import { ErrorTypes } from '../common/error-types';
import type { RejoinMemberInput } from '../common/inputs';
import { describeRejoin, rejoinOthers, type RejoinReport } from './group-helpers';
import { groupOperation } from './group-operation';

/**
 * `{"cluster": "demo", "member": "g1-a"}` (the CLI, the UI) or `{spec, member}` (the monitor); schema in common/inputs.
 */
export type { RejoinMemberInput };

export const REJOIN_STEPS = ['validate', 'lock', 'rejoin'] as const;

export async function rejoinMemberWorkflow(started: RejoinMemberInput): Promise<RejoinReport & { primary: string }> {
  const opening = {
    type: 'rejoinMemberWorkflow' as const,
    workflow: 'rejoinMember',
    steps: REJOIN_STEPS,
    input: started,
    target: (i: RejoinMemberInput) => ({ member: i.member }),
    severalHosts: () => undefined,
  };
  return groupOperation(opening, async ({ spec, group, progress, primary, assertHeld }, input) => {
    const member = input.member;
    if (primary === member)
      throw ApplicationFailure.nonRetryable(
        `${member} is the primary of ${group}; nothing to rejoin ` +
          `(if it is fenced, \`citusctl unfence ${member}\` makes it serve again)`,
        ErrorTypes.BadConfig,
      );
    await assertHeld();
    const r = await progress.run(
      'rejoin',
      async () => {
        const report = await rejoinOthers(spec, primary, [member]);
        if (!report.streaming.length)
          throw ApplicationFailure.nonRetryable(
            `${member} did not rejoin: ${report.failed.join('; ')}`,
            ErrorTypes.RejoinFailed,
          );
        return report;
      },
      describeRejoin,
    );
    return { ...r, primary };
  });
}
