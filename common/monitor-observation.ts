/**
 * What the monitor's probe sees, and the running history it folds the observations into. Pure:
 * safe in workflows. The history is small (one track per member and per group, not a list of
 * probes), so it fits in heartbeat details and in the monitor's continue-as-new input.
 */
import type { MemberStateName } from './member-state';
import type { ContainerStatus, MemberReading } from './member-observation';
import { foldHostCut, type HostCut } from './host-loss';
import { foldPeerCut, type PeerCut, type PeerView } from './peer-view';

export { CONTAINER_DOWN, type ContainerStatus } from './member-observation';

/** One pg_stat_replication row of a primary (application_name is the standby's member name). */
export interface ReplicationPeer {
  name: string;
  state: string;
  syncState: string;
  lagBytes: number | null;
}

export interface SqlView {
  ok: true;
  ms: number;
  inRecovery: boolean;
  timeline: number | null;
  /** Standby: its WAL receiver (null when none runs: it lost or never had a sender). */
  receiver: { status: string; senderHost: string | null } | null;
  /** Primary: its walsenders. */
  replication: ReplicationPeer[];
  /** synchronous_standby_names as the server runs it. */
  syncNames: string;
}

export interface SqlFailure {
  ok: false;
  ms: number;
  error: string;
}

/**
 * The probe's part of a member reading (member-observation.ts): what the decisions use. It is kept
 * small and in this shape because it lives in the monitor's history and heartbeat details.
 */
export function probeSqlView(r: Pick<MemberReading, 'sql' | 'sqlMs'>): SqlView | SqlFailure {
  const sql = r.sql;
  if (!sql.ok) return { ok: false, ms: r.sqlMs, error: sql.error };
  return {
    ok: true,
    inRecovery: sql.inRecovery,
    timeline: sql.timeline,
    receiver: sql.receiver,
    replication: sql.replication.map((w) => ({
      name: w.standby,
      state: w.state,
      syncState: w.syncState,
      lagBytes: w.lagBytes,
    })),
    syncNames: sql.syncNames,
    ms: r.sqlMs,
  };
}

export interface MemberObservation {
  member: string;
  /** Epoch ms at the start of the probe round. */
  at: number;
  container: ContainerStatus;
  sql: SqlView | SqlFailure;
  /** The member state etcd records (fenced, rejoining, ...); undefined when etcd did not answer or has none. */
  state?: MemberStateName;
  /** A primary that failed the previous probe: what its peers see of it (common/peer-view.ts). */
  peers?: PeerView;
  /** When the peers' answers had all come (epoch ms, the probe's clock). */
  peersAt?: number;
}

export interface ClusterObservation {
  at: number;
  etcd: { ok: boolean; error?: string };
  pgbouncer: { ok: boolean; error?: string };
  /** Docker's word on the PgBouncer and etcd containers (absent from observations made before they were watched). */
  services?: { pgbouncer: ContainerStatus; etcd: ContainerStatus };
  /** group -> live primary, from etcd (absent when etcd did not answer). */
  primaries?: Record<string, string>;
  /** group -> owner (`<workflowId>/<runId>`) of the group's etcd lock, for the locks held now. */
  locks: Record<string, string>;
  /** The durability each group's primary last had recorded by the monitor (etcd). */
  durability: Record<string, DurabilityRecord>;
  members: Record<string, MemberObservation>;
}

/** The value of durabilityKey (etcd-keys.ts). */
export interface DurabilityRecord {
  primary: string;
  mode: 'synchronous' | 'async';
  standbys: string[];
  at: string;
  reason?: string;
}

export interface MemberTrack {
  /** Consecutive failed SQL probes. */
  failures: number;
  /** The first failed probe of the current run of failures. */
  failingSince?: number;
  lastOkAt?: number;
  /** Not its group's primary and not streaming from it since (first probe of the current run). */
  notStreamingSince?: number;
  /** Failing, and no peer that answered reached it either, in consecutive rounds. */
  peerCut?: PeerCut;
  /** Failing, its engine silent and no peer reaching it, in consecutive rounds (common/host-loss.ts). */
  hostCut?: HostCut;
  last?: MemberObservation;
}

export interface GroupTrack {
  primary: string;
  /** When the primary last answered as a primary. */
  seenAt?: number;
  /** Standbys streaming from it then. */
  streaming: string[];
  /** Standbys synchronous (sync or quorum) then: who can be promoted without losing an acknowledged commit. */
  synchronous: string[];
  /** synchronous_standby_names then. */
  syncNames?: string;
  /** No standby streaming since (the primary answered each time). */
  noStreamingSince?: number;
}

export interface ProbeHistory {
  /** Probe rounds folded in, ever (across activity attempts). */
  rounds: number;
  last?: ClusterObservation;
  /** Last known live primaries (etcd's, kept while etcd does not answer). */
  primaries: Record<string, string>;
  /** When etcd last answered a round (epoch ms, the probe's clock); unset before it ever did. */
  etcdOkAt?: number;
  /**
   * When the probe returned this history (epoch ms, the probe's clock, like every stamp in it): the
   * age of its latest round when the workflow acts on it (common/host-loss.ts hostLossHint).
   */
  returnedAt?: number;
  members: Record<string, MemberTrack>;
  groups: Record<string, GroupTrack>;
}

export const emptyHistory = (): ProbeHistory => ({ rounds: 0, primaries: {}, members: {}, groups: {} });

export const memberGroupMap = (members: ReadonlyArray<{ name: string; group: string }>): Record<string, string> =>
  Object.fromEntries(members.map((m) => [m.name, m.group]));

/** Streams from `primary`: answers, in recovery, WAL receiver streaming from that host. */
export function streamsFrom(o: MemberObservation | undefined, primary: string): boolean {
  return (
    !!o &&
    o.sql.ok &&
    o.sql.inRecovery &&
    o.sql.receiver?.status === 'streaming' &&
    o.sql.receiver.senderHost === primary
  );
}

/** Answers as a primary (not in recovery). */
export const answersAsPrimary = (o: MemberObservation | undefined): boolean => !!o && o.sql.ok && !o.sql.inRecovery;

/** The standbys a primary's walsenders stream to, restricted to its group. */
export function streamingPeers(
  o: MemberObservation,
  groupMembers: readonly string[],
): { streaming: string[]; synchronous: string[] } {
  if (!o.sql.ok) return { streaming: [], synchronous: [] };
  const rows = o.sql.replication.filter(
    (r) => r.state === 'streaming' && groupMembers.includes(r.name) && r.name !== o.member,
  );
  return {
    streaming: [...new Set(rows.map((r) => r.name))].sort(),
    synchronous: [
      ...new Set(rows.filter((r) => r.syncState === 'sync' || r.syncState === 'quorum').map((r) => r.name)),
    ].sort(),
  };
}

/**
 * Folds one probe round into the history. Members keep their run of failures (count and start);
 * each group keeps what its primary said the last time it answered, which is what the decisions
 * need once it no longer answers (who was streaming, who was synchronous).
 */
export function foldObservation(
  h: ProbeHistory,
  obs: ClusterObservation,
  members: ReadonlyArray<{ name: string; group: string }>,
): ProbeHistory {
  const primaries = obs.primaries ?? h.primaries;
  const byGroup = new Map<string, string[]>();
  for (const m of members) byGroup.set(m.group, [...(byGroup.get(m.group) ?? []), m.name]);
  const groupOf = memberGroupMap(members);

  const tracks: Record<string, MemberTrack> = {};
  for (const m of members) {
    const o = obs.members[m.name];
    const prev = h.members[m.name] ?? { failures: 0 };
    if (!o) {
      tracks[m.name] = prev;
      continue;
    }
    const t: MemberTrack = o.sql.ok
      ? { failures: 0, lastOkAt: o.at, last: o }
      : {
          failures: prev.failures + 1,
          failingSince: prev.failures > 0 ? (prev.failingSince ?? o.at) : o.at,
          lastOkAt: prev.lastOkAt,
          last: o,
        };
    const primary = primaries[groupOf[m.name]!];
    // A container that (re)starts gets its grace period from then on.
    const restarted = prev.last !== undefined && prev.last.container !== 'running' && o.container === 'running';
    if (primary && primary !== m.name && !streamsFrom(o, primary))
      t.notStreamingSince = restarted ? o.at : (prev.notStreamingSince ?? o.at);
    const peerCut = o.sql.ok ? undefined : foldPeerCut(prev.peerCut, o.peers, o.at);
    if (peerCut) t.peerCut = peerCut;
    const hostCut = foldHostCut(prev.hostCut, o);
    if (hostCut) t.hostCut = hostCut;
    if (t.lastOkAt === undefined) delete t.lastOkAt;
    tracks[m.name] = t;
  }

  const groups: Record<string, GroupTrack> = {};
  for (const [group, names] of byGroup) {
    const primary = primaries[group];
    const prev = h.groups[group];
    if (!primary) {
      if (prev) groups[group] = prev;
      continue;
    }
    const kept: GroupTrack = prev && prev.primary === primary ? prev : { primary, streaming: [], synchronous: [] };
    const o = obs.members[primary];
    if (o && answersAsPrimary(o) && o.sql.ok) {
      const peers = streamingPeers(o, names);
      groups[group] = {
        primary,
        seenAt: o.at,
        ...peers,
        syncNames: o.sql.syncNames,
        ...(peers.streaming.length
          ? {}
          : {
              noStreamingSince:
                kept.seenAt !== undefined && !kept.streaming.length ? (kept.noStreamingSince ?? o.at) : o.at,
            }),
      };
    } else {
      groups[group] = kept;
    }
  }
  const etcdOkAt = obs.etcd.ok ? obs.at : h.etcdOkAt;
  return {
    rounds: h.rounds + 1,
    last: obs,
    primaries: { ...primaries },
    ...(etcdOkAt === undefined ? {} : { etcdOkAt }),
    members: tracks,
    groups,
  };
}
