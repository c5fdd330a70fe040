/**
 * The three scenarios, one round each: unplanned worker failover (docker kill of the primary, then
 * `citusctl failover <group>` at once), planned worker switchover, planned coordinator switchover.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchCluster } from '../lib/cluster';
import { runCli, stepMs, stepsByName, type CliOptions, type CliResult } from '../lib/cli';
import { waitGroupHealthy } from '../lib/health';
import { longestGap, lostAcks, outageAround } from '../lib/writer';
import { loadavg, ms, now, sleep } from '../lib/util';
import type { LabelledWriter, WriterFactory, WriterKey } from './writers';

export type Kind = 'failover' | 'switchover' | 'coordinator-switchover';

export interface WriterFigures {
  key: WriterKey;
  acked: number;
  /** Failed tries (each retried until it succeeded). */
  errors: number;
  lost: number;
  missing: number[];
  readFrom: string;
  /** Failover: first ack after the fault - last ack before it. */
  outageMs?: number;
  /** Longest time without an ack while the CLI ran. */
  maxGapMs: number;
  firstErrors: string[];
}

export interface RoundResult {
  kind: Kind;
  round: number;
  ok: boolean;
  error?: string;
  from: string;
  to?: string;
  writers: WriterFigures[];
  /** Named durations (ms) of where the time went. */
  parts: Record<string, number | undefined>;
  load: string;
}

export interface ScenarioContext {
  cluster: BenchCluster;
  cli: CliOptions;
  group: string;
  writers: WriterFactory;
  intervalMs: number;
  settleMs: number;
  outDir: string;
}

const EXPECTED_WRITES = 30_000;

export async function figures(
  ws: LabelledWriter[],
  tFault: number,
  tEnd: number,
  withOutage: boolean,
): Promise<WriterFigures[]> {
  return Promise.all(
    ws.map(async ({ key, writer: w }) => {
      const lost = await lostAcks(w).catch((err: unknown) => ({
        lost: [-1],
        from: `read-back failed: ${String(err)}`,
      }));
      return {
        key,
        acked: w.acks.length,
        errors: w.errors.filter((e) => e.t >= tFault).length,
        lost: lost.lost.length,
        missing: lost.lost.slice(0, 20),
        readFrom: lost.from,
        outageMs: withOutage ? outageAround(w, tFault).outageMs : undefined,
        maxGapMs: longestGap(w, tFault, tEnd).gapMs,
        firstErrors: w.errors
          .filter((e) => e.t >= tFault)
          .slice(0, 3)
          .map((e) => `+${ms(e.t - tFault)}ms ${e.message}`),
      };
    }),
  );
}

export function saveAcks(
  ctx: ScenarioContext,
  tag: string,
  ws: LabelledWriter[],
  extra: Record<string, unknown>,
): void {
  const doc = {
    ...extra,
    writers: ws.map(({ key, writer: w }) => ({
      key,
      label: w.target.label,
      acks: w.acks,
      errors: w.errors,
      routes: w.routes,
    })),
  };
  fs.writeFileSync(path.join(ctx.outDir, `${tag}.acks.json`), JSON.stringify(doc));
}

export async function withWriters(
  ctx: ScenarioContext,
  withDirect: boolean,
  fn: () => Promise<{ cli: CliResult; tFault: number }>,
): Promise<{ ws: LabelledWriter[]; cli: CliResult; tFault: number }> {
  const ws = await ctx.writers.forRound(withDirect, EXPECTED_WRITES);
  for (const w of ws) w.writer.start();
  try {
    await sleep(ctx.settleMs);
    const r = await fn();
    await sleep(500); // a few acks after the CLI finished
    return { ws, ...r };
  } finally {
    for (const w of ws) await w.writer.stop();
  }
}

const num = (x: unknown): number | undefined => (typeof x === 'number' ? x : undefined);

export async function failoverRound(ctx: ScenarioContext, i: number): Promise<RoundResult> {
  const { primary: victim } = await waitGroupHealthy(ctx.cluster, ctx.group);
  let tKilled = 0;
  const { ws, cli, tFault } = await withWriters(ctx, true, async () => {
    const tFault = now();
    await ctx.cluster.docker(['kill', ctx.cluster.containerOf(victim)]);
    tKilled = now();
    return { tFault, cli: await runCli(ctx.cli, ['failover', ctx.group], `failover${i}`) };
  });
  const res = cli.doc.result ?? {};
  const tl = (res.timeline ?? {}) as Record<string, number | undefined>;
  const st = stepsByName(cli.doc);
  saveAcks(ctx, `failover${i}`, ws, { tFault, tKilled, cli: { tSpawn: cli.tSpawn, tExit: cli.tExit } });
  const sub = (a?: number, b?: number) => (a !== undefined && b !== undefined ? a - b : undefined);
  return {
    kind: 'failover',
    round: i,
    ok: cli.doc.ok === true && res.outcome === 'failed-over',
    error:
      cli.doc.error ?? (res.outcome !== 'failed-over' ? `${String(res.outcome)}: ${String(res.detail)}` : undefined),
    from: victim,
    to: typeof res.newPrimary === 'string' ? res.newPrimary : undefined,
    writers: await figures(ws, tFault, cli.tExit, true),
    parts: {
      'docker kill command': tKilled - tFault,
      'CLI spawn -> workflow started': sub(tl.started, cli.tSpawn),
      'workflow: confirm-down step': stepMs(st['confirm-down']),
      'workflow: -> fenced': sub(tl.fenced, tl.confirmedDown),
      'workflow: -> promoted': sub(tl.promoted, tl.fenced),
      'workflow: -> Citus metadata updated': sub(tl.metadataUpdated, tl.promoted),
      'workflow outageWindowMs (started -> metadata)': num(res.outageWindowMs),
      'after: rejoin of the old primary': stepMs(st.rejoin),
      'CLI total (spawn -> exit)': cli.tExit - cli.tSpawn,
    },
    load: loadavg(),
  };
}

async function switchover(ctx: ScenarioContext, i: number, group: string, kind: Kind): Promise<RoundResult> {
  const { primary } = await waitGroupHealthy(ctx.cluster, group);
  const tag = `${kind}${i}`;
  const { ws, cli, tFault } = await withWriters(ctx, kind === 'switchover', async () => {
    const tFault = now();
    return { tFault, cli: await runCli(ctx.cli, ['switchover', group], tag) };
  });
  const res = cli.doc.result ?? {};
  const st = stepsByName(cli.doc);
  saveAcks(ctx, tag, ws, { tSpawn: cli.tSpawn, tExit: cli.tExit });
  return {
    kind,
    round: i,
    ok: cli.doc.ok === true,
    error: cli.doc.error,
    from: primary,
    to: typeof res.newPrimary === 'string' ? res.newPrimary : undefined,
    writers: await figures(ws, tFault, cli.tExit, false),
    parts: {
      'pauseMs (workflow result)': num(res.pauseMs),
      'CLI spawn -> workflow started':
        st.validate?.startedAt !== undefined ? st.validate.startedAt - cli.tSpawn : undefined,
      'workflow: switch step (critical section)': stepMs(st.switch),
      'after: rejoin of the old primary': stepMs(st.rejoin),
      'CLI total (spawn -> exit)': cli.tExit - cli.tSpawn,
    },
    load: loadavg(),
  };
}

export const switchoverRound = (ctx: ScenarioContext, i: number): Promise<RoundResult> =>
  switchover(ctx, i, ctx.group, 'switchover');
export const coordinatorSwitchoverRound = (ctx: ScenarioContext, i: number): Promise<RoundResult> =>
  switchover(ctx, i, 'coordinator', 'coordinator-switchover');
