/** bench/host-failover's lines: one per round (kill or cut) and the summary (median and max of each figure). */
import { statLine } from '../lib/start';
import { loadavg, median, ms, sum, type Log } from '../lib/util';
import { PART, type HostRound } from './round';

/** After the host came back: a kill's restart, a cut's heal (with its checks and the isolated writer). */
function backLine(r: HostRound): string {
  const p = r.parts;
  const streams = (at: number | undefined, healthy: number | undefined) =>
    `streams ${ms(at)} in recovery ${String(r.oldPrimaryInRecovery ?? '?')} healthy ${ms(healthy)} ms`;
  if (r.fault === 'kill') return ` | rejoin: ${streams(p[PART.streams], p[PART.healthy])}`;
  const v = r.writable;
  const writable = !v
    ? 'writable not watched'
    : v.violations.length
      ? `NOT ONE WRITABLE PER GROUP ${v.violations.length} times in ${v.polls} polls`
      : `one writable per group in ${v.polls} polls`;
  const iso = r.isolated;
  return (
    ` | self-fence ${ms(p[PART.selfFence])} ms` +
    ` | heal: ${writable}, ${streams(p[PART.healStreams], p[PART.healHealthy])}` +
    (iso
      ? ` | isolated writer: ${iso.acked} rows acked (${iso.afterCut} read after the cut, the last ` +
        `${ms(iso.lastAfterCutMs)} ms; ended ${ms(iso.endedMs)} ms), ` +
        `${iso.missing ? `MISSING ${iso.missing}` : '0 missing'} on the new primary`
      : '')
  );
}

export function roundLine(r: HostRound): string {
  const p = r.parts;
  const others = Object.entries(r.failovers)
    .filter(([g]) => g !== 'g1')
    .map(([g, f]) => ` | also ${g} ${f.from}->${f.to ?? '?'} etcd ${ms(f.etcdMs)}`)
    .join('');
  const lost = r.lost ? `LOST ${r.lost}` : 'lost 0';
  return (
    `${String(r.round).padStart(2)} ${r.fault} ${r.host} (${r.held.join(' ')}): g1 ${r.from} -> ${r.to ?? '?'} ` +
    `| detect ${ms(p[PART.detect])} etcd ${ms(p[PART.etcd])} ` +
    `| g1 outage ${ms(p[PART.g1Outage])} all ${ms(p[PART.allOutage])} ` +
    `ms | ${lost}/${r.acked} (${r.g1Acked ?? 'n/a'} on g1), ${r.failedTries} failed tries${others}${backLine(r)}` +
    ` | load ${r.load.atFault} -> ${r.load.atEnd}` +
    `${r.ok ? '' : `\n   FAILED: ${String(r.error)}`}` +
    `\n   failover (ms from its start): ${Object.entries(r.timeline)
      .map(([k, v]) => `${k} +${v}`)
      .join(', ')}` +
    (r.selfFence?.length ? `\n   ${r.host}'s worker after the cut: ${r.selfFence.join(' | ')}` : '')
  );
}

/** A cut's own summary lines: the heal's writable checks, the self-fence seen, the isolated writer. */
function summarizeCuts(log: Log, rs: HostRound[], width: number): void {
  const watched = rs.filter((r) => r.writable);
  const violated = watched.filter((r) => r.writable!.violations.length);
  log.line(
    `  ${'exactly one writable member per group after the heal'.padEnd(width)} ${watched.length - violated.length} ` +
      `of ${rs.length} rounds (${sum(watched.map((r) => r.writable!.polls))} polls)` +
      `${violated.length ? `   <<<<< VIOLATED in rounds ${violated.map((r) => r.round).join(', ')}` : ''}`,
  );
  const fenced = rs.filter((r) => r.parts[PART.selfFence] !== undefined).length;
  log.line(`  ${"the cut host's worker logged its primary stopped".padEnd(width)} ${fenced} of ${rs.length} rounds`);
  const isos = rs.flatMap((r) => (r.isolated ? [r.isolated] : []));
  if (!isos.length) return;
  const missing = sum(isos.map((x) => x.missing));
  log.line(
    `  ${'isolated writer (on the cut host)'.padEnd(width)} ${sum(isos.map((x) => x.acked))} rows acked, ` +
      `${sum(isos.map((x) => x.afterCut))} read after the cut; missing on the new primary: ` +
      `${missing ? `${missing}   <<<<< ACKNOWLEDGED BY THE ISOLATED PRIMARY ALONE` : '0'}`,
  );
}

export function summarize(log: Log, rs: HostRound[], isDouble: boolean, cut: boolean): void {
  const width = cut ? 58 : 52;
  const ok = rs.filter((r) => r.ok);
  log.line(
    cut
      ? `host holding g1's primary cut off the hosts network (its worker on it): ${ok.length}/${rs.length} rounds ok`
      : `host holding g1's primary killed (with its worker): ${ok.length}/${rs.length} rounds repaired by the monitor`,
  );
  const stat = statLine(log, width);
  const outage = PART.g1Outage;
  const outages = rs.map((r) => r.parts[outage]);
  const m = median(outages);
  stat(
    outage,
    outages,
    m === undefined
      ? isDouble
        ? '   (test double: no row is placed on g1)'
        : ''
      : `   target <= 5000: ${m <= 5000 ? 'met' : 'NOT met'} (median), stretch 3000: ` +
          `${m <= 3000 ? 'met' : 'not met'}; ` +
          `rounds <= 5000: ${outages.filter((x) => x !== undefined && x <= 5000).length}/${rs.length}`,
  );
  const lost = sum(rs.map((r) => r.lost));
  const acked = sum(rs.map((r) => r.acked));
  log.line(
    `  ${'acknowledged writes lost'.padEnd(width)} ${lost ? `LOST ${lost}` : 'total 0'} of ${acked} acked` +
      `${lost ? '   <<<<< ACKNOWLEDGED WRITES LOST' : ''}`,
  );
  const keys = [...new Set(rs.flatMap((r) => Object.keys(r.parts)))].filter((k) => k !== outage);
  for (const k of keys)
    stat(
      k,
      rs.map((r) => r.parts[k]),
    );
  const inRecovery = rs.filter((r) => r.oldPrimaryInRecovery).length;
  log.line(`  ${'old primary in recovery after the rejoin'.padEnd(width)} ${inRecovery} of ${rs.length} rounds`);
  if (cut) summarizeCuts(log, rs, width);
  log.line(`  ${'loadavg at the faults'.padEnd(width)} ${rs.map((r) => r.load.atFault.split('/')[0]).join(' ')}`);
}

export const failedRound = (round: number, fault: HostRound['fault'], error: string): HostRound => ({
  round,
  fault,
  ok: false,
  error,
  host: '?',
  held: [],
  from: '?',
  failovers: {},
  parts: {},
  timeline: {},
  acked: 0,
  failedTries: 0,
  lost: 0,
  missing: [],
  load: { atFault: '', atEnd: loadavg() },
});
