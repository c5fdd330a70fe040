/**
 * Pure failover decisions, unit-tested on their own: is the primary really down, which standby to
 * promote. Deterministic: safe in workflows.
 */
import { InvariantError } from './workflow-failure';

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

const LSN = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i;

export const isLsn = (v: string | null | undefined): v is string => typeof v === 'string' && LSN.test(v);

/** '16/B374D848' -> a comparable number. */
export function lsnToBigInt(lsn: string): bigint {
  const m = LSN.exec(lsn);
  if (!m) throw new InvariantError(`not an LSN: ${lsn}`);
  return (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`);
}

export type StandbyChoice = { member: string; reason: string } | { member: null; reason: string };

/** How far a standby got: the WAL it received (it replays it before promotion), else what it replayed. */
export function standbyPosition(p: StandbyPosition): bigint | null {
  const known = [p.receiveLsn, p.replayLsn].filter(isLsn).map(lsnToBigInt);
  if (!known.length) return null;
  return known.reduce((a, b) => (b > a ? b : a));
}

const formatLsn = (v: bigint) => `${(v >> 32n).toString(16).toUpperCase()}/${(v & 0xffffffffn).toString(16).toUpperCase()}`;

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
    return p ? { member: p.member, reason: `requested ${preferred}` } : { member: null, reason: `${preferred} is not a reachable streaming standby` };
  }
  if (!eligible.length) {
    const unreachable = positions.filter((p) => !p.reachable).map((p) => p.member);
    return { member: null, reason: positions.length ? `no reachable standby (${unreachable.join(', ') || 'none in recovery with a known position'})` : 'the group has no standby' };
  }
  let best = eligible[0]!;
  for (const p of eligible.slice(1)) if (standbyPosition(p)! > standbyPosition(best)!) best = p;
  return { member: best.member, reason: `highest received LSN ${formatLsn(standbyPosition(best)!)}` };
}
