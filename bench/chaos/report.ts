/** The chaos run's per-round line and its table per fault kind. */
import { max, median, secs, table } from '../lib/util';
import { FAULT_KINDS } from './faults';

export interface ChaosRound {
  round: number;
  kind: string;
  target: string;
  repaired: boolean;
  /** Fault injected -> every group healthy again. */
  repairMs?: number;
  violations: string[];
  /** Writer name -> longest time without an ack from the fault to the end of the round. */
  outageMs: Record<string, number>;
  lost: Record<string, number>;
  acked: Record<string, number>;
  actions: string[];
  notes: string[];
  logFile: string;
}

export function roundLine(r: ChaosRound): string {
  const outage = Object.entries(r.outageMs)
    .map(([w, x]) => `${w} ${secs(x)}s`)
    .join(', ');
  const lost = Object.values(r.lost).reduce((a, b) => a + b, 0);
  const state = r.repaired ? `repaired in ${secs(r.repairMs)} s` : 'NOT REPAIRED';
  return (
    `round ${String(r.round).padStart(2)} ${r.kind.padEnd(24)} ${r.target.padEnd(44)} ${state.padEnd(18)} max ` +
    `outage: ${outage}; lost ${lost}; violations ${r.violations.length}; repair: ${r.actions.join(', ') || '-'}`
  );
}

export function kindTable(rounds: ChaosRound[], writerNames: string[]): string[] {
  const header = [
    'fault',
    'rounds',
    'repaired',
    'violations',
    'median repair s',
    ...writerNames.map((w) => `max outage ${w} s`),
  ];
  const rows = FAULT_KINDS.filter((k) => rounds.some((r) => r.kind === k)).map((k) => {
    const rs = rounds.filter((r) => r.kind === k);
    return [
      k,
      String(rs.length),
      String(rs.filter((r) => r.repaired).length),
      String(rs.reduce((a, r) => a + r.violations.length, 0)),
      secs(median(rs.map((r) => r.repairMs))),
      ...writerNames.map((w) => secs(max(rs.map((r) => r.outageMs[w])))),
    ];
  });
  const all = [
    'all',
    String(rounds.length),
    String(rounds.filter((r) => r.repaired).length),
    String(rounds.reduce((a, r) => a + r.violations.length, 0)),
    secs(median(rounds.map((r) => r.repairMs))),
    ...writerNames.map((w) => secs(max(rounds.map((r) => r.outageMs[w])))),
  ];
  return table(header, [...rows, all]);
}
