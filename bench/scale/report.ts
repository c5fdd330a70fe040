/**
 * The figures of one scale step and their report lines: what the workflow says it moved (its
 * --json result and its `moves` step), what the cluster holds before and after (row counts, each
 * group's share), what the client saw, and the checks (nothing lost, counts add up, the new group
 * streams / the drained group is gone).
 */
import type { GroupView } from '../lib/health';
import { describeGroup, groupProblems } from '../lib/health';
import { ms, type Log } from '../lib/util';
import type { GroupShare, Leftovers, RowCounts } from './citus-view';
import type { WaitSample } from './sampler';
import type { ClientFigures, StepRun, TimedLine } from './step';

export interface Snapshot {
  counts: RowCounts;
  shares: GroupShare[];
  load: string;
}

export interface StepFigures {
  name: 'scale-out' | 'drain';
  command: string;
  ok: boolean;
  /** Failed checks (empty when ok). */
  problems: string[];
  wallMs: number;
  /** The workflow's `moves` step: Citus's background job from start to end. */
  movesMs?: number;
  stepsMs: Record<string, number>;
  jobs: number[];
  movesDone: number;
  bytesMoved: number;
  mbPerSec?: number;
  /** Rows in the moved group's placements: on it after the scale-out, on it before the drain. */
  rowsMoved?: number;
  rowsPerSec?: number;
  client: ClientFigures;
  before: Snapshot;
  after: Snapshot;
  /** Bench rows the step added (after - before) against the acks of its writer. */
  benchRowsAdded: number;
  load: { before: string; after: string };
  detail: Record<string, unknown>;
  /** The CLI's progress lines and the sampled waits, ms after it started. */
  timeline: TimedLine[];
  waits: (WaitSample & { atMs: number })[];
}

const MB = 1024 * 1024;
const num = (x: unknown): number => (typeof x === 'number' ? x : 0);
const rowsOn = (s: Snapshot, group: string) => s.shares.find((x) => x.group === group)?.rows;
const perSec = (x: number | undefined, msecs: number | undefined) =>
  x !== undefined && msecs ? x / (msecs / 1000) : undefined;

function common(
  name: StepFigures['name'],
  command: string,
  run: StepRun,
  before: Snapshot,
  after: Snapshot,
  demoRows: number,
  moved: Record<string, unknown> | undefined,
  rowsMoved: number | undefined,
): StepFigures {
  const problems: string[] = [];
  const doc = run.cli.doc;
  if (!doc.ok) problems.push(`the command failed: ${String(doc.error ?? `exit ${String(run.cli.code)}`)}`);
  const movesMs = run.stepsMs.moves;
  const bytesMoved = num(moved?.bytesMoved);
  const benchRowsAdded = after.counts.bench - before.counts.bench;
  if (before.counts.demo !== demoRows || after.counts.demo !== demoRows)
    problems.push(`demo rows ${before.counts.demo} before, ${after.counts.demo} after (expected ${demoRows})`);
  if (benchRowsAdded !== run.client.acked)
    problems.push(`bench rows grew by ${benchRowsAdded}, the writer had ${run.client.acked} acked`);
  if (run.client.lost) problems.push(`${run.client.lost} acknowledged writes lost`);
  for (const s of [before, after]) {
    const sum = s.shares.reduce((p, x) => p + (x.rows ?? 0), 0);
    if (s.shares.every((x) => x.rows !== undefined) && sum !== s.counts.total)
      problems.push(`rows per group add up to ${sum}, count(*) says ${s.counts.total}`);
  }
  return {
    name,
    command,
    ok: false,
    problems,
    wallMs: run.wallMs,
    ...(movesMs !== undefined ? { movesMs } : {}),
    stepsMs: run.stepsMs,
    jobs: Array.isArray(moved?.jobs) ? (moved.jobs as number[]) : [],
    movesDone: num(moved?.movesDone),
    bytesMoved,
    ...(movesMs ? { mbPerSec: bytesMoved / MB / (movesMs / 1000) } : {}),
    ...(rowsMoved !== undefined ? { rowsMoved, rowsPerSec: perSec(rowsMoved, movesMs) } : {}),
    client: run.client,
    before,
    after,
    benchRowsAdded,
    load: { before: run.loadBefore, after: run.loadAfter },
    detail: {},
    timeline: run.timeline,
    waits: run.waits,
  };
}

export function scaleOutFigures(
  run: StepRun,
  before: Snapshot,
  after: Snapshot,
  group: string,
  demoRows: number,
  view: GroupView,
  streamingAfterMs: number | undefined,
): StepFigures {
  const rebalance = run.cli.doc.result?.rebalance as Record<string, unknown> | undefined;
  const f = common(
    'scale-out',
    'citusctl up --config <spec with ' + group + '> --json',
    run,
    before,
    after,
    demoRows,
    rebalance,
    rowsOn(after, group),
  );
  if (run.cli.doc.ok && !rebalance) f.problems.push('the up reported no rebalance');
  const share = after.shares.find((s) => s.group === group);
  if (!share) f.problems.push(`${group} is not a Citus node after the up`);
  else if (!share.placements) f.problems.push(`${group} holds no placements after the up`);
  const problems = groupProblems(view);
  if (problems.length && streamingAfterMs === undefined)
    f.problems.push(`${group} after the up: ${problems.join('; ')}`);
  f.detail = {
    groupAfterUp: describeGroup(view),
    ...(problems.length ? { streamingOnlyAfterMs: streamingAfterMs } : {}),
    placementsOnGroup: share?.placements,
  };
  f.ok = f.problems.length === 0;
  return f;
}

export function drainFigures(
  run: StepRun,
  before: Snapshot,
  after: Snapshot,
  group: string,
  demoRows: number,
  left: Leftovers,
): StepFigures {
  const result = run.cli.doc.result;
  const f = common(
    'drain',
    `citusctl drain ${group} --config <spec with ${group}> --json`,
    run,
    before,
    after,
    demoRows,
    result,
    rowsOn(before, group),
  );
  if (left.citusNodes) f.problems.push(`${left.citusNodes} pg_dist_node rows still name a member of ${group}`);
  if (left.placements) f.problems.push(`${left.placements} placements left on ${group}'s Citus group`);
  if (left.cleanupRecords)
    f.problems.push(`${left.cleanupRecords} pg_dist_cleanup records left for ${group}'s Citus group`);
  if (left.containers.length) f.problems.push(`containers left: ${left.containers.join(', ')}`);
  if (left.etcdKeys.length) f.problems.push(`etcd keys left: ${left.etcdKeys.join(', ')}`);
  if (after.shares.some((s) => s.group === group)) f.problems.push(`${group} still a Citus worker after the drain`);
  f.detail = {
    leftovers: left,
    removedContainers: result?.removedContainers,
    removedVolumes: result?.removedVolumes,
    droppedSlots: result?.droppedSlots,
    deletedKeys: result?.deletedKeys,
  };
  f.ok = f.problems.length === 0;
  return f;
}

const shares = (s: Snapshot) =>
  s.shares
    .map((x) => `${x.group} ${x.placements} placements${x.rows !== undefined ? ` / ${x.rows} rows` : ''}`)
    .join(', ');
const f1 = (x: number | undefined, digits = 1) => (x === undefined ? 'n/a' : x.toFixed(digits));

export function reportStep(log: Log, f: StepFigures): void {
  const c = f.client;
  log.line(`${f.name}: ${f.command}  ${f.ok ? 'OK' : 'FAILED'}`);
  log.line(
    `  before: ${f.before.counts.total} rows (${f.before.counts.demo} demo + ${f.before.counts.bench} bench); ` +
      `${shares(f.before)}`,
  );
  log.line(
    `  after:  ${f.after.counts.total} rows (${f.after.counts.demo} demo + ${f.after.counts.bench} bench); ` +
      `${shares(f.after)}`,
  );
  const perMove = f.movesMs !== undefined && f.movesDone ? `, ${ms(f.movesMs / f.movesDone)} ms per move` : '';
  log.line(
    `  wall time of the command ${ms(f.wallMs)} ms; moves step ${ms(f.movesMs)} ms${perMove} (Citus ` +
      `job${f.jobs.length > 1 ? 's' : ''} ${f.jobs.join(', ') || 'none'})`,
  );
  log.line(
    `  moved: ${f.movesDone} shard moves, ${f1(f.bytesMoved / 1024 / 1024)} MB, ${f1(f.mbPerSec, 2)} MB/s over ` +
      `the moves step; ${f.rowsMoved ?? 'n/a'} rows = ${f1(f.rowsPerSec, 0)} rows/s`,
  );
  log.line(
    `  steps (ms): ${Object.entries(f.stepsMs)
      .map(([n, d]) => `${n} ${ms(d)}`)
      .join(', ')}`,
  );
  log.line(
    `  client (while the command ran): ${c.ackedDuringCli} writes acked (${f1(c.writesPerSec, 0)}/s), longest ` +
      `gap between acks ${ms(c.maxGapMs)} ms, longest single INSERT ${ms(c.maxWriteMs)} ms, ${c.errorsDuringCli} ` +
      `failed tries (${c.errors} in all, each retried)`,
  );
  for (const e of c.firstErrors) log.line(`    error: ${e}`);
  if (c.gapFromMs !== undefined && c.gapToMs !== undefined && c.maxGapMs >= 1000)
    for (const l of explainGap(f, c.gapFromMs, c.gapToMs)) log.line(`    ${l}`);
  log.line(
    `  lost: ${c.lost} of ${c.acked} acknowledged writes (read back from ` +
      `${c.readFrom})${c.lost ? `; first missing: ${c.missing.join(', ')}` : ''}; bench rows +${f.benchRowsAdded}`,
  );
  for (const [k, v] of Object.entries(f.detail))
    if (v !== undefined) log.line(`  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  log.line(`  loadavg ${f.load.before} before, ${f.load.after} after`);
  for (const p of f.problems) log.line(`  PROBLEM: ${p}`);
}

/** What the workflow reported and what the nodes waited on while the longest gap lasted. */
function explainGap(f: StepFigures, from: number, to: number): string[] {
  const sec = (x: number) => `+${(x / 1000).toFixed(1)} s`;
  const out = [`longest gap: ${sec(from)} .. ${sec(to)} after the command started`];
  const progress = [
    ...f.timeline.filter((l) => l.atMs <= from).slice(-1),
    ...f.timeline.filter((l) => l.atMs > from && l.atMs <= to),
  ];
  for (const l of progress) out.push(`  progress ${sec(l.atMs)}: ${l.line.replace(/\s+/g, ' ')}`);
  const waits = new Map<string, { backends: number; longestMs: number; query: string; first: number; last: number }>();
  for (const w of f.waits.filter((x) => x.atMs >= from - 1000 && x.atMs <= to)) {
    const k = `${w.member} ${w.wait}`;
    const have = waits.get(k);
    waits.set(k, {
      backends: Math.max(have?.backends ?? 0, w.backends),
      longestMs: Math.max(have?.longestMs ?? 0, w.longestMs),
      query: have?.query ?? w.query,
      first: have?.first ?? w.atMs,
      last: w.atMs,
    });
  }
  for (const [k, w] of waits)
    out.push(
      `  waiting on ${k}: up to ${w.backends} backends, longest ${ms(w.longestMs)} ms (${sec(w.first)} .. ` +
        `${sec(w.last)}): ${w.query}`,
    );
  if (!waits.size) out.push('  no backend waited longer than 300 ms on any primary in that window');
  return out;
}
