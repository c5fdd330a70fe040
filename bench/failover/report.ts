/** Per-round lines and the summary (median and max over rounds) of the failover bench. */
import { max, median, ms, sum, type Log } from '../lib/util';
import type { Kind, RoundResult, WriterFigures } from './scenarios';
import type { WriterKey } from './writers';

const WRITER_NAME: Record<WriterKey, string> = { pgbouncer: 'PgBouncer', direct: 'direct' };

export function roundLine(r: RoundResult): string {
  const head = `${r.kind.padEnd(22)} ${String(r.round).padStart(2)} ${r.from.padEnd(7)}-> ${(r.to ?? '?').padEnd(7)}`;
  const ws = r.writers
    .map(
      (w) =>
        `${WRITER_NAME[w.key]}: ` +
        `${r.kind === 'failover' ? `outage ${ms(w.outageMs)}` : `gap ${ms(w.maxGapMs)}`} ms, errors ` +
        `${w.errors}, lost ${w.lost}/${w.acked}`,
    )
    .join(' | ');
  const extra =
    r.kind === 'failover'
      ? `wf-window ${ms(r.parts['workflow outageWindowMs (started -> metadata)'])}`
      : `pauseMs ${ms(r.parts['pauseMs (workflow result)'])}`;
  return (
    `${head} ${ws} | ${extra} | cli ${ms(r.parts['CLI total (spawn -> exit)'])} ms | load ` +
    `${r.load}${r.ok ? '' : `  FAILED: ${String(r.error)}`}`
  );
}

const statLine = (label: string, xs: (number | undefined)[], note = '') =>
  `  ${label.padEnd(52)} median ${ms(median(xs)).padStart(6)}  max ${ms(max(xs)).padStart(6)} ` +
  `ms${note ? `   ${note}` : ''}`;

function target(xs: (number | undefined)[], limit: number): string {
  const m = median(xs);
  const x = max(xs);
  if (m === undefined) return '';
  return (
    `target median <= ${limit}: ` +
    `${m <= limit ? 'met' : 'NOT met'}${x !== undefined && x > limit ? ` (max above)` : ''}`
  );
}

/** Figures of writer `key` over the completed rounds of one kind. */
const of = (rs: RoundResult[], key: WriterKey): WriterFigures[] =>
  rs.flatMap((r) => r.writers.filter((w) => w.key === key));

export function summary(
  log: Log,
  results: RoundResult[],
  labels: Record<WriterKey, string | undefined>,
  isDouble: boolean,
): void {
  const kinds: [Kind, string][] = [
    ['failover', 'unplanned worker failover (docker kill of the primary, then `citusctl failover` at once)'],
    ['switchover', 'planned worker switchover (`citusctl switchover <group>`)'],
    ['coordinator-switchover', 'planned coordinator switchover (`citusctl switchover coordinator`)'],
  ];
  log.line('writers:');
  for (const [k, label] of Object.entries(labels)) if (label) log.line(`  ${WRITER_NAME[k as WriterKey]}: ${label}`);
  for (const [kind, title] of kinds) {
    const rs = results.filter((r) => r.kind === kind && r.ok);
    const failed = results.filter((r) => r.kind === kind && !r.ok).length;
    if (!rs.length && !failed) continue;
    log.line('');
    log.line(`${title}: ${rs.length} rounds completed${failed ? `, ${failed} FAILED` : ''}`);
    for (const key of ['pgbouncer', 'direct'] as WriterKey[]) {
      const ws = of(rs, key);
      if (!ws.length) continue;
      const doubleNote =
        isDouble && key === 'pgbouncer' && kind !== 'coordinator-switchover'
          ? ' (test double: its rows never reach the faulted group)'
          : '';
      log.line(`  ${WRITER_NAME[key]} writer${doubleNote}:`);
      if (kind === 'failover') {
        const xs = ws.map((w) => w.outageMs);
        log.line(statLine('    client write outage', xs, key === 'pgbouncer' && !isDouble ? target(xs, 2000) : ''));
      } else {
        log.line(
          statLine(
            '    longest write gap during the CLI run',
            ws.map((w) => w.maxGapMs),
          ),
        );
      }
      const errors = sum(ws.map((w) => w.errors));
      const errNote =
        kind === 'coordinator-switchover'
          ? `   target 0: ${errors === 0 ? 'met' : 'NOT met'}`
          : '   (each failed row retried until it succeeded)';
      log.line(`  ${'    client errors'.padEnd(52)} total ${errors}${errNote}`);
      const lost = sum(ws.map((w) => w.lost));
      log.line(
        `  ${'    acknowledged writes lost'.padEnd(52)} total ${lost} of ${sum(ws.map((w) => w.acked))} acked  ` +
          ` target 0: ${lost === 0 ? 'met' : 'NOT met'}`,
      );
    }
    const parts = Object.keys(rs[0]?.parts ?? {});
    if (parts.length) log.line('  where the time goes:');
    for (const p of parts) {
      const xs = rs.map((r) => r.parts[p]);
      log.line(statLine(`    ${p}`, xs, p.startsWith('pauseMs') ? target(xs, 1000) : ''));
    }
  }
}
