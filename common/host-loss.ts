/**
 * The monitor's evidence that a primary's whole host is lost, handed to the failover it starts so
 * that the failover need not gather it again (common/host-silence.ts). A round counts when the
 * member's engine did not answer (container `unknown`), its SQL failed, and the peers that answered
 * all failed to reach it (common/peer-view.ts); the run is stamped when the peers' answers came, on
 * the probe's clock, and only its length (a duration) leaves the probe. Pure and table-tested
 * (test/unit/host-loss.test.ts); safe in workflows.
 *
 * The failover trusts the length only from the cluster's own monitor (its parent), for the member
 * and host it names: the peers' loss then started at least `lostForMs` before the failover did
 * (it started after the monitor's last round). Its own look at the peers must still find the host
 * lost, and the fence still waits for the self-fence deadline from the start of the loss.
 */
import { hostOfContainer, isMultiHost } from './addressing';
import { describePeerView, peerVerdict, type PeerView } from './peer-view';
import type { PlacementInput } from './placement';

/** A run of rounds in which the member's host was lost: first and latest answer of its peers (epoch ms). */
export interface HostCut {
  rounds: number;
  since: number;
  until: number;
}

/** The failover's optional input: the monitor's word that `member`'s host has been lost for `lostForMs`. */
export interface HostLossHint {
  member: string;
  host: string;
  lostForMs: number;
}

/** The parts of a round's member observation (monitor-observation.ts, which folds this) read here. */
interface Round {
  container: string;
  sql: { ok: boolean };
  peers?: PeerView;
  peersAt?: number;
}

/** The run goes on while every round finds the host lost; any other round ends it. */
export function foldHostCut(prev: HostCut | undefined, o: Round): HostCut | undefined {
  if (o.container !== 'unknown' || o.sql.ok || peerVerdict(o.peers) !== 'cut' || o.peersAt === undefined)
    return undefined;
  return { rounds: (prev?.rounds ?? 0) + 1, since: prev?.since ?? o.peersAt, until: o.peersAt };
}

/**
 * Several hosts, from monitors started since (`failures` set): the primary's host is lost when its
 * engine did not answer, its SQL failed `failures` times in a row and every peer that answered, in
 * the latest round, could not reach it either: three viewpoints, so the failover starts without
 * waiting for the failure window or its standbys' WAL receivers (seconds). Safety is not decided
 * here: the failover still counts the primary fenced only once the peers have lost its host for the
 * self-fence deadline (common/host-silence.ts), and refuses while anyone reaches it.
 */
export function hostLossConfirmation(
  track: { failures: number; hostCut?: HostCut; last?: Round } | undefined,
  failures: number | undefined,
): string | undefined {
  const o = track?.last;
  if (failures === undefined || !o || !track.hostCut || track.hostCut.until !== o.peersAt) return undefined;
  if (o.sql.ok || o.container !== 'unknown' || track.failures < failures) return undefined;
  return `host lost: its engine does not answer and no peer reaches it (${describePeerView(o.peers)})`;
}

/**
 * The hint for a failover of `group`: its primary's host lost in the latest round, else undefined.
 * `toReturn` (monitors started since): the loss is measured up to the probe's return (`returnedAt`,
 * on the same clock as the rounds), not only to its latest round: the failover starts after that
 * return, so the loss began at least that long before the failover did, and a look it makes about
 * a second later has seen the host lost long enough to decide (common/host-silence.ts).
 */
export function hostLossHint(
  spec: PlacementInput,
  h: {
    primaries: Record<string, string>;
    members: Record<string, { hostCut?: HostCut; last?: Round }>;
    returnedAt?: number;
  },
  group: string,
  toReturn = false,
): HostLossHint | undefined {
  const member = h.primaries[group];
  if (!member || !isMultiHost(spec)) return undefined;
  const cut = h.members[member]?.hostCut;
  const last = h.members[member]?.last;
  if (!cut || !last || last.peersAt !== cut.until) return undefined;
  const until = toReturn && h.returnedAt !== undefined ? Math.max(cut.until, h.returnedAt) : cut.until;
  return { member, host: hostOfContainer(spec, member).name, lostForMs: Math.max(0, until - cut.since) };
}

export type HintVerdict = { use: true; lostForMs: number } | { use: false; why: string };

/** Whether the failover uses the hint: from the cluster's monitor, about the primary it fails over. */
export function hintVerdict(
  hint: HostLossHint | undefined,
  at: { oldPrimary: string; host: string; parentId?: string; monitorId: string },
): HintVerdict {
  if (!hint) return { use: false, why: 'no hint' };
  if (at.parentId !== at.monitorId) return { use: false, why: "ignored: not started by the cluster's monitor" };
  if (hint.member !== at.oldPrimary || hint.host !== at.host)
    return { use: false, why: `ignored: about ${hint.member} on ${hint.host}, not ${at.oldPrimary} on ${at.host}` };
  return { use: true, lostForMs: hint.lostForMs };
}
