/**
 * The monitor's decisions, pure and table-tested: has a group's primary failed, what to do about
 * each member, when to switch a group to asynchronous commit and back. Every decision is made from
 * the folded probe history (common/monitor-observation.ts) and the time of the last probe, never
 * the clock, so the probe activity (which returns when an action is due) and the workflow (which
 * acts) reach the same answer.
 */
import {
  CONTAINER_DOWN,
  streamsFrom,
  type GroupTrack,
  type MemberObservation,
  type MemberTrack,
  type ProbeHistory,
} from './monitor-observation';
import { decideServices, type ServiceAction, type ServiceDecision } from './monitor-service-decisions';
import { COORDINATOR_GROUP } from './names';
import { hostLossConfirmation } from './host-loss';
import { partitionConfirmation, type PartitionThresholds } from './partition-decisions';
import { describePeerView } from './peer-view';

export interface MonitorThresholds extends PartitionThresholds {
  /** Probe every member this often. */
  intervalMs: number;
  /** A primary has failed only after this many consecutive failed probes ... */
  failures: number;
  /** ... spanning at least this long (first to last failed probe) ... */
  failWindowMs: number;
  /**
   * When Docker says the container is down (exited, dead, gone), its PostgreSQL cannot be running:
   * `downFailures` failed probes spanning `downWindowMs` suffice. A paused or running container never
   * takes this path.
   */
  downFailures: number;
  downWindowMs: number;
  /** A standby not streaming (but running) this long is rejoined. */
  standbyGraceMs: number;
  /** With no standby streaming this long, a synchronous group switches to asynchronous commit. */
  asyncAfterMs: number;
  /**
   * Several hosts: a primary whose host is lost (common/host-loss.ts) has failed after this many
   * failed probes, window or not. Unset (monitors started before): only the rules above.
   */
  hostLossFailures?: number;
  /**
   * Several hosts: a round in which etcd did not answer still fails over a primary whose host is lost,
   * if etcd answered a round at most this long before: the lost host may have held etcd's leader (a
   * new one is elected within 1-2 s, and the failover's lock waits for it), and the failover reads
   * the live primaries and takes the group's lock itself. Unset (monitors started before): every
   * action waits for etcd.
   */
  hostLossWithoutEtcdMs?: number;
}

/**
 * A running container nobody reaches (common/partition-decisions.ts): peers are asked from the
 * round after the first failed probe, so 2 of their rounds over 1 s arrive with the 1.5 s window
 * above, about 2 s after the fault. A 1 s freeze never gets there: its failed probes span < 1.5 s.
 */
export const PARTITION_THRESHOLDS: PartitionThresholds = { peerChecks: 2, peerWindowMs: 1000 };

/**
 * Detection within a few hundred ms of a `docker kill`: Docker's `die` event wakes the probe, and its
 * failed probe, Docker confirming the container is down, decides: the engine's word that the
 * process is gone needs no second look (the failover's confirm-down step looks again anyway). Any
 * other failure (a crash inside a running container, confirmed by every standby losing its sender)
 * takes 4 probes over 1500 ms. A pause shorter than 1500 ms never reaches it (Docker says paused).
 */
export const DEFAULT_THRESHOLDS: MonitorThresholds = {
  intervalMs: 500,
  failures: 3,
  failWindowMs: 1500,
  downFailures: 1,
  downWindowMs: 0,
  standbyGraceMs: 10_000,
  asyncAfterMs: 1500,
  ...PARTITION_THRESHOLDS,
};

/** Monitors started since the lost-host verdict: the host's loss confirmed by its peers decides at once. */
export const HOST_LOSS_DETECTION: Pick<MonitorThresholds, 'hostLossFailures'> = { hostLossFailures: 1 };

/** Monitors started since: a lost host's failover does not wait for a round in which etcd answers. */
export const HOST_LOSS_WITHOUT_ETCD: Pick<MonitorThresholds, 'hostLossWithoutEtcdMs'> = { hostLossWithoutEtcdMs: 5000 };

/** What monitors started before detection on the first Docker-confirmed probe decided with. */
export const TWO_PROBE_DOWN_DETECTION: Pick<MonitorThresholds, 'downFailures' | 'downWindowMs'> = {
  downFailures: 2,
  downWindowMs: 500,
};

export type FailoverPolicy = 'auto' | 'approve' | 'manual';

/** The parts of the spec the decisions read. */
export interface MonitorPolicy {
  failover: FailoverPolicy;
  allowAsyncFailover: boolean;
  requireFailoverApproval: boolean;
  durability: 'synchronous' | 'async';
  /** Members of each group in spec order. */
  groups: Record<string, string[]>;
}

export interface Maintenance {
  cluster: boolean;
  groups: string[];
}

export interface DecisionContext {
  policy: MonitorPolicy;
  maintenance: Maintenance;
  /** Groups whose failover this monitor started and which still run. */
  failoversInFlight: string[];
  /** Members whose rejoin this monitor started and which still run. */
  rejoinsInFlight: string[];
  /** Workflow ids of those failovers and rejoins: a group lock they hold is not someone else's. */
  ownWorkflowIds: string[];
  /** Action key (see actionKey) -> not before this time (epoch ms). */
  notBefore: Record<string, number>;
  thresholds: MonitorThresholds;
  /** Several hosts, monitors started since: a member's restart runs on its host's queue (common/monitor-hosts.ts). */
  restartOnHosts?: boolean;
}

export type PrimaryVerdict = { state: 'ok' | 'suspect' | 'failed' | 'unknown'; reason: string };

/**
 * Failed = N consecutive failed probes over at least T, confirmed from a second viewpoint: Docker
 * says the container is not running, or every standby that streamed from it was reached and its
 * WAL receiver lost the sender, or (container running) no peer reaches it either (a partition).
 * Anything less (a slow probe, an orchestrator cut off from the
 * primary, a paused container) is at most `suspect`, and nothing is done about it.
 */
export function primaryVerdict(
  track: MemberTrack | undefined,
  group: GroupTrack | undefined,
  standbys: Record<string, MemberObservation | undefined>,
  t: MonitorThresholds,
): PrimaryVerdict {
  const o = track?.last;
  if (!o) return { state: 'unknown', reason: 'not probed yet' };
  if (o.sql.ok)
    return o.sql.inRecovery
      ? { state: 'suspect', reason: `${o.member} answers but is in recovery` }
      : { state: 'ok', reason: `${o.member} answers as primary` };
  const span = o.at - (track.failingSince ?? o.at);
  const tally = `${track.failures} failed probes over ${span} ms (${o.sql.error})`;
  const down = CONTAINER_DOWN.includes(o.container);
  if (down && track.failures >= t.downFailures && span >= t.downWindowMs)
    return { state: 'failed', reason: `${tally}; Docker: container ${o.container}` };
  const hostLost = hostLossConfirmation(track, t.hostLossFailures);
  if (hostLost) return { state: 'failed', reason: `${tally}; ${hostLost}` };
  if (track.failures < t.failures || span < t.failWindowMs) return { state: 'suspect', reason: tally };
  const witnesses = group?.streaming ?? [];
  const lost = witnesses.filter((s) => {
    const so = standbys[s];
    return !!so && so.sql.ok && so.sql.inRecovery && !streamsFrom(so, o.member);
  });
  if (witnesses.length && lost.length === witnesses.length)
    return { state: 'failed', reason: `${tally}; every standby lost its sender (${witnesses.join(', ')})` };
  const partition = partitionConfirmation(track, t);
  if (partition) return { state: 'failed', reason: `${tally}; ${partition}` };
  const why = witnesses.length
    ? `${witnesses.length - lost.length} of ${witnesses.length} standbys still stream or cannot be asked`
    : 'no standby streamed from it to ask';
  return {
    state: 'suspect',
    reason: `${tally}; not confirmed: container ${o.container}, ${why}, ${describePeerView(o.peers)}`,
  };
}

/** The member names in synchronous_standby_names ('ANY 1 ("a", b)', 'FIRST 2 (a,b)', 'a, b', '*'). */
export function parseSyncNames(value: string | undefined): string[] {
  const v = (value ?? '').trim();
  if (!v) return [];
  const inner = /^(?:(?:ANY|FIRST)\s+)?\d*\s*\((.*)\)$/is.exec(v)?.[1] ?? v;
  return inner
    .split(',')
    .map((s) => s.trim().replace(/^"(.*)"$/, '$1'))
    .filter(Boolean);
}

/**
 * A primary already fenced means a failover stopped after its fence (the promotion's answer never
 * came). A member of the group that cannot be reached while its container may run could then be
 * writable: another failover could promote a second member, so none is started until it answers
 * (a member whose container is down starts as its member state says: never promoted unrecorded).
 */
export function maybePromoted(
  primary: MemberObservation | undefined,
  others: Array<MemberObservation | undefined>,
): string[] {
  if (primary?.state !== 'fenced') return [];
  return others
    .filter((o): o is MemberObservation => !!o && !o.sql.ok && !CONTAINER_DOWN.includes(o.container))
    .map((o) => o.member);
}

export type DurabilityDecision =
  { change: false; reason: string } | { change: true; mode: 'synchronous' | 'async'; reason: string };

/**
 * Synchronous commit that never blocks forever: with no standby streaming for asyncAfterMs, commit
 * asynchronously; as soon as one streams, name it again. A configuration naming only standbys that
 * do not stream blocks every commit, so it counts as "none named".
 */
export function durabilityDecision(
  g: GroupTrack | undefined,
  durability: 'synchronous' | 'async',
  now: number,
  t: MonitorThresholds,
): DurabilityDecision {
  if (!g || g.seenAt === undefined || g.syncNames === undefined)
    return { change: false, reason: 'primary not seen yet' };
  const named = parseSyncNames(g.syncNames);
  if (durability === 'async')
    return named.length
      ? { change: true, mode: 'async', reason: 'the spec asks for asynchronous commit' }
      : { change: false, reason: 'asynchronous by the spec' };
  const namedStreaming = named.filter((n) => n === '*' || g.streaming.includes(n));
  if (g.streaming.length) {
    if (namedStreaming.length) return { change: false, reason: `synchronous with ${g.streaming.join(', ')}` };
    return {
      change: true,
      mode: 'synchronous',
      reason: `${g.streaming.join(', ')} stream${named.length ? ` but only ${named.join(', ')} named` : ' again'}`,
    };
  }
  if (!named.length) return { change: false, reason: 'asynchronous: no standby streams' };
  const since = g.noStreamingSince ?? now;
  if (now - since < t.asyncAfterMs) return { change: false, reason: `no standby streams for ${now - since} ms` };
  return {
    change: true,
    mode: 'async',
    reason: `no standby streams for ${now - since} ms: commits would block on ${named.join(', ')}`,
  };
}

export type MonitorAction =
  | {
      kind: 'failover';
      group: string;
      oldPrimary: string;
      requireApproval: boolean;
      candidates?: string[];
      reason: string;
    }
  | { kind: 'restart'; group: string; member: string; reason: string }
  | { kind: 'recreate'; group: string; member: string; reason: string }
  | { kind: 'rejoin'; group: string; member: string; reason: string }
  | { kind: 'cancel-rejoin'; group: string; member: string; reason: string }
  | { kind: 'durability'; group: string; primary: string; mode: 'synchronous' | 'async'; reason: string }
  | ServiceAction;

/** One key per thing that can be done, for backoff. */
export const actionKey = (a: Pick<MonitorAction, 'kind' | 'group'> & { member?: string }) =>
  a.kind === 'failover' || a.kind === 'durability' ? `${a.kind}:${a.group}` : `${a.kind}:${a.member}`;

export interface GroupStatus {
  primary?: string;
  primaryState: PrimaryVerdict['state'];
  /** One word each, stable while nothing changes (the probe returns early when it changes). */
  members: Record<string, string>;
  notes: string[];
}

export interface ClusterDecision {
  at: number;
  actions: MonitorAction[];
  groups: Record<string, GroupStatus>;
  /** PgBouncer and etcd: one word each, and why nothing is done about one that is down. */
  services?: Omit<ServiceDecision, 'actions'>;
}

/** A member's one-word health, for status and for noticing change. */
export function memberWord(o: MemberObservation | undefined, isPrimary: boolean, primary: string | undefined): string {
  if (!o) return 'unknown';
  if (o.container !== 'running') return o.state === 'fenced' ? `fenced/${o.container}` : o.container;
  if (!o.sql.ok) return o.state === 'fenced' ? 'fenced' : 'unreachable';
  if (isPrimary) return o.sql.inRecovery ? 'primary-in-recovery' : 'primary';
  if (!o.sql.inRecovery) return 'writable-standby';
  return primary && streamsFrom(o, primary) ? 'streaming' : 'not-streaming';
}

const within = (until: number | undefined, now: number) => until !== undefined && now < until;

/** The primary's host is lost (common/host-loss.ts) and etcd answered within hostLossWithoutEtcdMs. */
function hostLostLately(h: ProbeHistory, track: MemberTrack | undefined, t: MonitorThresholds, at: number): boolean {
  if (t.hostLossWithoutEtcdMs === undefined || h.etcdOkAt === undefined) return false;
  return at - h.etcdOkAt <= t.hostLossWithoutEtcdMs && !!hostLossConfirmation(track, t.hostLossFailures);
}

/** Every action due now, and each group's status. */
export function decideCluster(h: ProbeHistory, ctx: DecisionContext): ClusterDecision {
  const obs = h.last;
  const at = obs?.at ?? 0;
  const actions: MonitorAction[] = [];
  const groups: Record<string, GroupStatus> = {};
  const { policy, thresholds: t } = ctx;
  for (const [group, names] of Object.entries(policy.groups)) {
    const primary = h.primaries[group];
    const notes: string[] = [];
    const status: GroupStatus = { primary, primaryState: 'unknown', members: {}, notes };
    groups[group] = status;
    for (const m of names) status.members[m] = memberWord(h.members[m]?.last, m === primary, primary);
    if (!obs || !primary) {
      notes.push('no observation yet');
      continue;
    }
    const track = h.members[primary];
    const gTrack = h.groups[group];
    const standbyObs = Object.fromEntries(names.filter((n) => n !== primary).map((n) => [n, h.members[n]?.last]));
    const verdict = primaryVerdict(track, gTrack, standbyObs, t);
    status.primaryState = verdict.state;
    if (verdict.state !== 'ok') notes.push(`primary ${primary}: ${verdict.state}: ${verdict.reason}`);
    const maintenance = ctx.maintenance.cluster || ctx.maintenance.groups.includes(group);
    const due = (a: MonitorAction, why?: string) => {
      const until = ctx.notBefore[actionKey(a)];
      if (within(until, at))
        notes.push(
          `${a.kind} ` +
            `${a.kind === 'failover' || a.kind === 'durability' ? group : (a as { member: string }).member} not ` +
            `before ${new Date(until!).toISOString()}${why ? ` (${why})` : ''}`,
        );
      else actions.push(a);
    };

    if (ctx.failoversInFlight.includes(group)) {
      notes.push('failover in progress');
      continue;
    }
    const lock = obs.locks[group];
    const ourRejoins = ctx.rejoinsInFlight.filter((m) => names.includes(m));
    if (lock !== undefined && !ctx.ownWorkflowIds.includes(lock.split('/')[0]!)) {
      notes.push(`locked by ${lock}: another workflow acts on the group`);
      continue;
    }

    // Synchronous commit is kept from blocking even in maintenance and without etcd: it changes no
    // role and restarts nothing, and a commit hanging on a standby that is gone helps nobody.
    if (verdict.state === 'ok') {
      const d = durabilityDecision(gTrack, policy.durability, at, t);
      if (d.change) due({ kind: 'durability', group, primary, mode: d.mode, reason: d.reason });
    }
    if (maintenance) {
      notes.push(`maintenance (${ctx.maintenance.cluster ? 'cluster' : 'group'} paused): no automatic action`);
      continue;
    }
    const withoutEtcd = !obs.etcd.ok && verdict.state === 'failed' && hostLostLately(h, track, t, at);
    if (!obs.etcd.ok && !withoutEtcd) {
      notes.push(`etcd unreachable (${obs.etcd.error ?? 'no answer'}): holding every action that needs it`);
      continue;
    }

    if (verdict.state === 'failed') {
      const record = obs.durability[group];
      const knownAsync =
        policy.durability === 'synchronous' &&
        ((gTrack?.seenAt !== undefined && gTrack.synchronous.length === 0) ||
          (gTrack?.seenAt === undefined && record?.primary === primary && record.mode === 'async'));
      const candidates =
        policy.durability === 'synchronous' && !policy.allowAsyncFailover && gTrack?.synchronous.length
          ? gTrack.synchronous
          : undefined;
      const unsure = maybePromoted(
        track?.last,
        names.filter((n) => n !== primary).map((n) => h.members[n]?.last),
      );
      if (unsure.length) {
        notes.push(
          `needs operator: ${primary} is fenced by a failover that did not finish and ${unsure.join(', ')} ` +
            'cannot be reached (it may have been promoted): no automatic failover until it answers; then ' +
            `\`citusctl failover ${group}\`, or \`citusctl unfence ${primary}\` if it is in recovery`,
        );
      } else if (policy.failover === 'manual') notes.push(`policy manual: run \`citusctl failover ${group}\``);
      else if (knownAsync && !policy.allowAsyncFailover) {
        notes.push(
          `automatic failover refused: no standby was synchronous when ${primary} failed (allowAsyncFailover: ` +
            `false); \`citusctl failover ${group}\` overrides`,
        );
      } else {
        for (const m of ourRejoins)
          actions.push({ kind: 'cancel-rejoin', group, member: m, reason: `the primary ${primary} failed` });
        due({
          kind: 'failover',
          group,
          oldPrimary: primary,
          requireApproval: policy.failover === 'approve' || policy.requireFailoverApproval,
          ...(candidates ? { candidates } : {}),
          reason: withoutEtcd
            ? `${verdict.reason}; etcd did not answer this round (${obs.etcd.error ?? 'no answer'}), ` +
              `${at - h.etcdOkAt!} ms after it last did: the failover waits for it`
            : verdict.reason,
        });
      }
      continue;
    }
    if (verdict.state !== 'ok') continue; // suspect or unknown: wait, and touch none of its standbys

    for (const m of names) {
      if (m === primary || ourRejoins.includes(m)) continue;
      const mt = h.members[m];
      const o = mt?.last;
      if (!o) continue;
      const word = status.members[m]!;
      if (word === 'streaming') continue;
      const since = mt.notStreamingSince ?? o.at;
      if (o.container === 'absent') {
        due({
          kind: 'recreate',
          group,
          member: m,
          reason: `${m}'s container is gone (its volume keeps its data and member state)`,
        });
      } else if (o.state === 'fenced') {
        due({ kind: 'rejoin', group, member: m, reason: `${m} is fenced (${o.container})` });
      } else if (CONTAINER_DOWN.includes(o.container)) {
        due({ kind: 'restart', group, member: m, reason: `container ${o.container}` });
      } else if (o.container !== 'running') {
        notes.push(`${m}: container ${o.container}: waiting`);
      } else if (o.sql.ok && !o.sql.inRecovery) {
        due({ kind: 'rejoin', group, member: m, reason: `${m} is writable but ${primary} is the primary` });
      } else if (o.at - since >= t.standbyGraceMs) {
        due({
          kind: 'rejoin',
          group,
          member: m,
          reason: `${m} has not streamed from ${primary} for ${o.at - since} ms (${word})`,
        });
      } else {
        notes.push(`${m}: ${word} for ${o.at - since} ms`);
      }
    }
  }
  // First: every client goes through PgBouncer, and each group's repairs wait for etcd.
  const { actions: serviceActions, ...services } = decideServices(obs, {
    maintenance: ctx.maintenance.cluster,
    coordinator: h.primaries[COORDINATOR_GROUP],
    notBefore: ctx.notBefore,
  });
  return { at, actions: [...serviceActions, ...actions], groups, services };
}

/** What changed between two decisions, in a form that ignores timings: a new action or health word. */
export function decisionSignature(d: ClusterDecision): string {
  const words = Object.entries(d.groups).map(
    ([g, s]) =>
      `${g}:${s.primary}:${s.primaryState}:${Object.entries(s.members)
        .map(([m, w]) => `${m}=${w}`)
        .join(',')}`,
  );
  const services = Object.entries(d.services?.words ?? {}).map(([n, w]) => `${n}=${w}`);
  return [...words, ...services, ...d.actions.map((a) => actionKey(a))].join('|');
}

/** Wait before trying an action again after `failures` consecutive failures: 10 s doubling, at most 5 min. */
export const backoffMs = (failures: number) => Math.min(300_000, 10_000 * 2 ** Math.max(0, failures - 1));
