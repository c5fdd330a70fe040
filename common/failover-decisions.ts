/**
 * Pure failover decisions, unit-tested on their own: is the primary really down, which standby to
 * promote. Deterministic: safe in workflows.
 */
import { formatLsn, isLsn, lsnToBigInt } from './lsn';

export interface ProbeResult {
  ok: boolean;
  detail: string;
  /** The engine says the container is not running: no need to wait for more probes. */
  conclusive?: boolean;
}

/**
 * Down only if every probe failed: one success means the primary (or the network path) is alive.
 * Several failed connections are needed, unless Docker itself reports the container stopped.
 */
export function primaryIsDown(probes: ProbeResult[], minProbes = 3): boolean {
  if (!probes.length || probes.some((p) => p.ok)) return false;
  return probes.some((p) => p.conclusive) || probes.length >= minProbes;
}

export interface StandbyPosition {
  member: string;
  reachable: boolean;
  inRecovery: boolean;
  /** pg_last_wal_replay_lsn(), e.g. '0/3000148'; null when unknown. */
  replayLsn: string | null;
  /** pg_last_wal_receive_lsn(): what the standby received (and flushed); null when it never streamed since start. */
  receiveLsn: string | null;
}

export type StandbyChoice = { member: string; reason: string } | { member: null; reason: string };

/** How far a standby got: the WAL it received (it replays it before promotion), else what it replayed. */
export function standbyPosition(p: StandbyPosition): bigint | null {
  const known = [p.receiveLsn, p.replayLsn].filter(isLsn).map(lsnToBigInt);
  if (!known.length) return null;
  return known.reduce((a, b) => (b > a ? b : a));
}

/**
 * The standby with the highest received LSN among reachable standbys in recovery (ties: the order
 * given, which is the spec's). `preferred` (switchover --to) must itself be eligible. A member
 * already out of recovery wins outright: a previous attempt promoted it, and promoting another
 * would split the group.
 */
export function pickStandby(positions: StandbyPosition[], preferred?: string): StandbyChoice {
  const promoted = positions.find((p) => p.reachable && !p.inRecovery);
  if (promoted) return { member: promoted.member, reason: `${promoted.member} is already promoted` };
  const eligible = positions.filter((p) => p.reachable && p.inRecovery && standbyPosition(p) !== null);
  if (preferred) {
    const p = eligible.find((x) => x.member === preferred);
    return p
      ? { member: p.member, reason: `requested ${preferred}` }
      : { member: null, reason: `${preferred} is not a reachable streaming standby` };
  }
  if (!eligible.length) {
    const unreachable = positions.filter((p) => !p.reachable).map((p) => p.member);
    return {
      member: null,
      reason: positions.length
        ? `no reachable standby (${unreachable.join(', ') || 'none in recovery with a known position'})`
        : 'the group has no standby',
    };
  }
  let best = eligible[0]!;
  for (const p of eligible.slice(1)) if (standbyPosition(p)! > standbyPosition(best)!) best = p;
  return { member: best.member, reason: `highest received LSN ${formatLsn(standbyPosition(best)!)}` };
}

/** What an un-fence sees of one other member of the group. */
export interface UnfenceView {
  member: string;
  /** The SQL answer (standbyPositions): reachable, and then whether it is in recovery. */
  reachable: boolean;
  inRecovery: boolean;
  /** Docker's word on its container ('running', 'paused', 'exited', 'absent', 'unknown', ...). */
  container: string;
  /** Its recorded member state (primary, standby, fenced, rejoining), when known. */
  state?: string;
}

/** Containers whose PostgreSQL cannot be running (the monitor's CONTAINER_DOWN). */
const CONTAINER_STOPPED = ['exited', 'created', 'dead', 'absent'];

/**
 * The members that make an un-fence unsafe, each with why. A member that cannot be asked counts as
 * possibly writable (a promotion may have gone through before its connection dropped), unless
 * Docker says its container is not running and its member state will start it in recovery (any
 * state but `primary`: the bootstrap forces a standby into recovery, keeps a fenced one down and
 * rebuilds a rejoining one).
 */
export function unfenceBlockers(others: UnfenceView[]): Array<{ member: string; why: string }> {
  const out: Array<{ member: string; why: string }> = [];
  for (const o of others) {
    if (o.reachable) {
      if (!o.inRecovery) out.push({ member: o.member, why: 'is writable' });
      continue;
    }
    if (!CONTAINER_STOPPED.includes(o.container))
      out.push({ member: o.member, why: `cannot be reached (container ${o.container}): it may have been promoted` });
    else if (o.state === 'primary')
      out.push({
        member: o.member,
        why: `is recorded as a primary (container ${o.container}): it would start writable`,
      });
  }
  return out;
}

export type AfterFailedPromotion = { action: 'adopt'; reason: string } | { action: 'try-unfence'; reason: string };

/**
 * The promotion of `candidate` failed (its answer never came). When the candidate answers now as
 * writable, the promotion went through: it is the new primary (finish the failover onto it). Any
 * other case tries to lift the old primary's fence, which the un-fence itself refuses while a
 * member is, or may be, writable (unfenceBlockers).
 */
export function afterFailedPromotion(candidate: string, positions: StandbyPosition[]): AfterFailedPromotion {
  const c = positions.find((p) => p.member === candidate);
  const otherWritable = positions
    .filter((p) => p.member !== candidate && p.reachable && !p.inRecovery)
    .map((p) => p.member);
  if (c?.reachable && !c.inRecovery && !otherWritable.length)
    return { action: 'adopt', reason: `${candidate} answers as writable: its promotion went through` };
  if (!c?.reachable) return { action: 'try-unfence', reason: `${candidate} cannot be reached` };
  return {
    action: 'try-unfence',
    reason: c.inRecovery ? `${candidate} is still in recovery` : `${otherWritable.join(', ')} is writable too`,
  };
}

/** What an operator is told when a failover may have left a promoted member it cannot reach. */
export function needsOperatorDetail(group: string, oldPrimary: string, candidate: string, refusal: string): string {
  return (
    `${oldPrimary} stays fenced: ${refusal}. Two members could be writable if it served again. ` +
    `Once ${candidate} answers: if it is writable, \`citusctl failover ${group}\` finishes the failover onto it; ` +
    `if it is in recovery, \`citusctl failover ${group}\` promotes a standby, ` +
    `or \`citusctl unfence ${oldPrimary}\` makes ${oldPrimary} serve again`
  );
}
