/** Where members stand in the WAL: each one's recovery state and positions, a primary's flush LSN. */
import type { StandbyPosition } from '../../common/failover-decisions';
import type { ClusterSpec } from '../../common/spec';
import { currentFlushLsn, readPositions } from '../../lib/postgres';
import type { ActivityDeps } from '../deps';
import { asSuperuser } from './superuser';

/** One entry per member; one that cannot be reached counts as unreachable (and in recovery). */
export function standbyPositions(
  deps: ActivityDeps,
  input: { spec: ClusterSpec; members: string[] },
): Promise<StandbyPosition[]> {
  return Promise.all(
    input.members.map(async (member) => {
      try {
        return { member, reachable: true, ...(await asSuperuser(deps, input.spec, member, readPositions)) };
      } catch {
        return { member, reachable: false, inRecovery: true, replayLsn: null, receiveLsn: null };
      }
    }),
  );
}

/** The primary's flush LSN, to wait for a switchover target to replay everything. */
export function flushLsn(deps: ActivityDeps, input: { spec: ClusterSpec; member: string }): Promise<string> {
  return asSuperuser(deps, input.spec, input.member, currentFlushLsn);
}
