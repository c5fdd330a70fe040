/**
 * unfenceMember (id `unfence-<cluster>-<member>`): lifts a member's fence safely. The group's
 * recorded primary (fenced by a failover that then changed nothing else) becomes primary again,
 * refused while another member of the group is writable; any other member rejoins as a standby
 * of the group's primary.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { ErrorTypes } from '../common/error-types';
import { acts } from './activity-proxies';
import type { UnfenceMemberInput } from '../common/inputs';
import { rejoinOthers } from './group-helpers';
import { groupOperation } from './group-operation';

/** `{"cluster": "demo", "member": "g1-a"}` or `{spec, member}`; schema in common/inputs. */
export type { UnfenceMemberInput };

export interface UnfenceMemberResult {
  member: string;
  primary: string;
  action: 'serving-as-primary' | 'rejoined-as-standby';
  detail: string;
}

export const UNFENCE_STEPS = ['validate', 'lock', 'unfence'] as const;

export async function unfenceMemberWorkflow(started: UnfenceMemberInput): Promise<UnfenceMemberResult> {
  const opening = {
    type: 'unfenceMemberWorkflow' as const,
    workflow: 'unfenceMember',
    steps: UNFENCE_STEPS,
    input: started,
    target: (i: UnfenceMemberInput) => ({ member: i.member }),
  };
  return groupOperation(opening, async ({ spec, group, progress, primary, standbys, assertHeld }, input) => {
    const member = input.member;
    await assertHeld();
    return progress.run(
      'unfence',
      async () => {
        if (primary === member) {
          await acts.unfencePrimary({ spec, member, others: standbys });
          await acts.configureDurability({ spec, primary: member, standbys });
          return {
            member,
            primary,
            action: 'serving-as-primary' as const,
            detail: `${member} is the primary of ${group} again`,
          };
        }
        const r = await rejoinOthers(spec, primary, [member]);
        if (!r.streaming.length)
          throw ApplicationFailure.nonRetryable(
            `${member} did not rejoin: ${r.failed.join('; ')}`,
            ErrorTypes.RejoinFailed,
          );
        return { member, primary, action: 'rejoined-as-standby' as const, detail: `${member} streams from ${primary}` };
      },
      (r) => r.detail,
    );
  });
}
