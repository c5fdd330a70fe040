/**
 * A primary cut off from the network while its container runs: whom the monitor asks for a second
 * viewpoint, and when their answers confirm that the primary is gone. Pure and table-tested
 * (test/unit/partition-decisions.test.ts).
 *
 * The monitor's own probe failing is never enough (the monitor may be the one cut off, or slow).
 * Its peers inside the cluster network are asked only once it failed, and only while Docker says
 * the container runs: a down container has Docker's word already, and a paused one is frozen on
 * purpose (the monitor waits for it). Confirmed when, in `peerChecks` consecutive rounds spanning
 * at least `peerWindowMs`, at least one peer answered and none of those that answered reached it.
 * One peer that reaches it is enough to hold back: then the fault is between the monitor and it.
 */
import { COORDINATOR_GROUP } from './names';
import type { MemberTrack, ProbeHistory } from './monitor-observation';
import { describePeerView } from './peer-view';

export interface PartitionThresholds {
  /** Consecutive rounds in which no peer reaches a failing primary ... */
  peerChecks: number;
  /** ... spanning at least this long (first to last of those rounds). */
  peerWindowMs: number;
}

/**
 * primary -> the peers to ask about it this round: for every group whose primary (etcd's, as last
 * folded) failed the previous probe while its container ran, or, with `engineSilent` (several
 * hosts), while its host's engine did not answer either (the host may be lost: common/host-loss.ts).
 * Peers are the group's other members, plus the coordinator's primary for a worker group, or every
 * worker primary for the coordinator group.
 */
export function peersToAsk(
  h: ProbeHistory,
  members: ReadonlyArray<{ name: string; group: string }>,
  opts: { engineSilent?: boolean } = {},
): Record<string, string[]> {
  const asks: Record<string, string[]> = {};
  const watched = opts.engineSilent ? ['running', 'unknown'] : ['running'];
  for (const [group, primary] of Object.entries(h.primaries)) {
    const o = h.members[primary]?.last;
    if (!o || o.sql.ok || !watched.includes(o.container)) continue;
    asks[primary] = peersOf(h.primaries, members, group);
  }
  return asks;
}

/**
 * The peers asked about `group`'s primary (`primaries`: group -> member): the group's other members,
 * plus the coordinator's primary for a worker group, or every worker primary for the coordinator group.
 */
export function peersOf(
  primaries: Record<string, string>,
  members: ReadonlyArray<{ name: string; group: string }>,
  group: string,
): string[] {
  const primary = primaries[group];
  const mates = members.filter((m) => m.group === group && m.name !== primary).map((m) => m.name);
  const outside =
    group === COORDINATOR_GROUP
      ? Object.entries(primaries)
          .filter(([g]) => g !== COORDINATOR_GROUP)
          .map(([, p]) => p)
      : [primaries[COORDINATOR_GROUP]];
  const known = new Set(members.map((m) => m.name));
  return [...new Set([...mates, ...outside])].filter((p): p is string => !!p && p !== primary && known.has(p));
}

/** Why the peers confirm that the failing primary is unreachable, or undefined while they do not (yet). */
export function partitionConfirmation(track: MemberTrack | undefined, t: PartitionThresholds): string | undefined {
  const o = track?.last;
  const cut = track?.peerCut;
  if (!o || o.sql.ok || o.container !== 'running' || !cut) return undefined;
  const span = o.at - cut.since;
  if (cut.rounds < t.peerChecks || span < t.peerWindowMs) return undefined;
  return (
    `container running but no peer reaches it (${describePeerView(o.peers)}; ${cut.rounds} checks over ${span} ` + 'ms)'
  );
}
