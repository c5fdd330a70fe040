/** One chaos round: healthy start, writers on, one fault, the product's repair, the invariants. */
import type { FaultKind } from './faults';
import { inject, type FaultRecord } from './faults';
import { metadataDisagreements, SplitBrainWatcher } from './invariants';
import { repair } from './repair';
import type { ChaosRound } from './report';
import type { RoundContext } from './round-context';
import { longestGap, lostAcks, NumberedWriter, type IdSource, type WriteTarget } from '../lib/writer';
import { errorMessage, now, sleep } from '../lib/util';
import type { Tpcb } from '../lib/tpcb';
import { tpcbFigures, TPCB_WRITER } from './tpcb-workload';

export interface ChaosWriter {
  name: string;
  target: WriteTarget;
  ids: IdSource;
}

const SETTLE_MS = 2000;
const REPAIR_BUDGET_MS = 6 * 60_000;

export async function chaosRound(
  ctx: RoundContext,
  kind: FaultKind,
  writers: ChaosWriter[],
  intervalMs: number,
  tpcb?: Tpcb,
): Promise<ChaosRound> {
  const base = { round: ctx.round, kind, logFile: ctx.logFile };
  const tpcbRun = await tpcb?.start(`round${String(ctx.round).padStart(2, '0')}`);
  const ws = writers.map((w) => ({ name: w.name, writer: new NumberedWriter(w.target, w.ids, intervalMs) }));
  const watcher = new SplitBrainWatcher(ctx.cluster, (l) => ctx.log(l));
  for (const w of ws) w.writer.start();
  watcher.start();
  let fault: FaultRecord | undefined;
  const violations: string[] = [];
  const notes: string[] = [];
  let rep: Awaited<ReturnType<typeof repair>> | undefined;
  try {
    await sleep(SETTLE_MS);
    ctx.log(`fault: ${kind}`);
    fault = await inject(ctx, kind).catch((err: unknown) => {
      notes.push(`fault injection failed: ${errorMessage(err)}`);
      ctx.log(`fault injection failed: ${errorMessage(err)}`);
      return undefined;
    });
    if (fault) {
      ctx.log(`fault done: ${fault.target}${fault.notes.length ? ` (${fault.notes.join('; ')})` : ''}`);
      notes.push(...fault.notes);
    }
    rep = await repair(ctx, REPAIR_BUDGET_MS, fault?.tFaultEnd ?? now());
    for (const s of rep.splitBrains) violations.push(`split brain (observed): ${s}`);
    for (const m of rep.streamingLate) violations.push(`${m} not streaming 60 s after the last repair command`);
    if (rep.repaired && rep.etcd) {
      const coord = rep.views.find((v) => v.group === 'coordinator')?.writable[0];
      const disagreements = coord
        ? await metadataDisagreements(ctx.cluster, coord, rep.etcd).catch((err: unknown) => [
            `metadata check failed: ${errorMessage(err)}`,
          ])
        : ['no coordinator primary'];
      for (const d of disagreements) violations.push(`metadata/etcd: ${d}`);
    }
    await sleep(1000); // a few acks after the repair
  } finally {
    await watcher.stop();
    for (const w of ws) await w.writer.stop();
  }
  const tEnd = now();
  for (const v of watcher.violations) violations.push(`split brain (sampled): ${v}`);
  const outageMs: Record<string, number> = {};
  const lost: Record<string, number> = {};
  const acked: Record<string, number> = {};
  for (const w of ws) {
    outageMs[w.name] = fault ? longestGap(w.writer, fault.tFault, tEnd).gapMs : 0;
    acked[w.name] = w.writer.acks.length;
    const l = await lostAcks(w.writer).catch((err: unknown) => ({
      lost: [-1],
      from: `read-back failed: ${errorMessage(err)}`,
    }));
    lost[w.name] = l.lost.length;
    if (l.lost.length)
      violations.push(
        `${w.name}: ${l.lost.length} of ${w.writer.acks.length} acknowledged writes lost (first: ` +
          `${l.lost.slice(0, 10).join(', ')}; read from ${l.from})`,
      );
    ctx.log(
      `writer ${w.name}: ${w.writer.acks.length} acked, ${w.writer.errors.length} failed tries, ` +
        `${l.lost.length} lost, longest gap ${Math.round(outageMs[w.name] ?? 0)} ms`,
    );
  }
  if (tpcbRun) {
    const t = await tpcbFigures(ctx.cluster, tpcbRun, fault?.tFault, tEnd);
    [outageMs[TPCB_WRITER], acked[TPCB_WRITER], lost[TPCB_WRITER]] = [t.stallMs, t.commits, 0];
    violations.push(...t.violations);
    ctx.log(t.line);
  }
  if (!fault) violations.push('the fault could not be injected');
  for (const v of violations) ctx.log(`VIOLATION ${v}`);
  if (rep && !rep.repaired) ctx.log(`NOT REPAIRED: ${rep.problems.join('; ')}`);
  return {
    ...base,
    target: fault?.target ?? '?',
    repaired: rep?.repaired ?? false,
    repairMs: rep?.tHealthy !== undefined && fault ? rep.tHealthy - fault.tFault : undefined,
    violations,
    outageMs,
    lost,
    acked,
    actions: rep?.actions ?? [],
    notes,
  };
}
