/**
 * A standby's first follow of its primary (setup's followPrimary) and what the workflow does next:
 * a member that already carries a member state other than standby (fenced by a failover, or a
 * former primary) cannot simply follow and is rebuilt through rejoin.
 */
import type { MemberStateName } from './member-state';

export interface FollowResult {
  /** A base backup was taken now. */
  seeded: boolean;
  slot: string;
  /** Set when the member already had a member state: that state (null when it could not be read). */
  existingState?: MemberStateName | null;
}

/** Whether the member must be rebuilt (rejoinMember) instead of following as it is. */
export const mustRejoin = (r: FollowResult): boolean => r.existingState !== undefined && r.existingState !== 'standby';
