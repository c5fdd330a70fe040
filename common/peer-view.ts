/**
 * The peers' view of a primary the monitor cannot reach: a second viewpoint from inside the
 * cluster network. Each peer (the group's standbys; the coordinator for a worker group, the worker
 * primaries for the coordinator group) opens a fresh connection to the primary, bounded by a short
 * timeout, and says whether it could. Pure, no project imports: safe in workflows.
 *
 * Why peers and not the standbys' replication: a standby notices a partitioned sender only after
 * wal_receiver_timeout (60 s by default), and the age of its last received message says nothing
 * while no writes flow. A fresh connection fails at once when the primary's address is gone
 * (Docker's DNS no longer names a disconnected container) and within the check's timeout when
 * packets are dropped, whatever traffic there is.
 */

export interface PeerView {
  /** Peers that connected to the primary. */
  reached: string[];
  /** Peers that answered the monitor and could not connect to the primary. */
  cut: string[];
  /** `peer: why` for the peers that could not be asked (the monitor cannot reach them, or the check failed). */
  unasked: string[];
}

/** A run of consecutive probe rounds in which the peers that answered all failed to reach the primary. */
export interface PeerCut {
  rounds: number;
  /** Start of the first round of the run (epoch ms). */
  since: number;
}

/** cut: at least one peer answered and none reached the primary; reached: one did; unknown: nobody could be asked. */
export function peerVerdict(v: PeerView | undefined): 'cut' | 'reached' | 'unknown' {
  if (!v) return 'unknown';
  if (v.reached.length) return 'reached';
  return v.cut.length ? 'cut' : 'unknown';
}

/** The run goes on only while every round's view is `cut`; any other round (or none asked) ends it. */
export function foldPeerCut(prev: PeerCut | undefined, view: PeerView | undefined, at: number): PeerCut | undefined {
  if (peerVerdict(view) !== 'cut') return undefined;
  return { rounds: (prev?.rounds ?? 0) + 1, since: prev?.since ?? at };
}

export function describePeerView(v: PeerView | undefined): string {
  if (!v) return 'peers not asked';
  const parts = [
    ...(v.reached.length ? [`${v.reached.join(', ')} reach${v.reached.length === 1 ? 'es' : ''} it`] : []),
    ...(v.cut.length ? [`${v.cut.join(', ')} cannot connect`] : []),
    ...(v.unasked.length ? [`not asked: ${v.unasked.join('; ')}`] : []),
  ];
  return parts.length ? parts.join(', ') : 'no peer to ask';
}
