/**
 * One round of bench/entry-heal: a `docker kill` or `docker rm -f` of PgBouncer or etcd under the
 * numbered writers, and nothing else: the monitor starts or re-creates it. PgBouncer rounds measure
 * the client write outage (the writer connects through PgBouncer); etcd rounds measure when etcd
 * answers again (authenticated, with the primaries it held), then kill the group's primary and
 * follow the monitor's failover to the end: the next failover must work on the repaired etcd.
 */
import { Client, type Connection } from '@temporalio/client';
import type { MonitorStatus } from '../../workflows';
import { etcdAuthEnabled } from '../../lib/etcd-auth';
import { orchestratorTls } from '../../lib/tls/orchestrator-tls';
import { TlsStore } from '../../lib/tls/tls-store';
import { failoverRunAfter, type FailoverRun } from '../auto-failover/round';
import { etcdPrimaries } from '../lib/etcd';
import { observeGroup, waitGroupHealthy } from '../lib/health';
import type { NumberedWriter } from '../lib/writer';
import { errorMessage, loadavg, now, sleep } from '../lib/util';
import { figures, saveAcks, type ScenarioContext, type WriterFigures } from '../failover/scenarios';
import type { LabelledWriter } from '../failover/writers';

export const HEAL_KINDS = ['kill-pgbouncer', 'rm-pgbouncer', 'kill-etcd', 'rm-etcd'] as const;
export type HealKind = (typeof HEAL_KINDS)[number];

export interface HealContext extends ScenarioContext {
  connection: Connection;
}

export interface HealRound {
  kind: HealKind;
  round: number;
  ok: boolean;
  error?: string;
  /** PgBouncer rounds: around the fault; etcd rounds: around the primary's kill that follows. */
  writers: WriterFigures[];
  parts: Record<string, number | undefined>;
  notes: string[];
  load: string;
}

const BUDGET_MS = 120_000;
const EXPECTED_WRITES = 30_000;
/**
 * One authenticated read of etcd, bounded: a fresh client authenticates first (bcrypt on etcd's
 * side, seconds on a loaded machine), so a tight bound would measure the client, not etcd.
 */
const ETCD_READ_MS = 5000;

async function until<T>(budgetMs: number, probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const end = now() + budgetMs;
  while (now() < end) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(50);
  }
  return undefined;
}

const containerId = (ctx: HealContext, member: string) =>
  ctx.cluster.docker(['inspect', '-f', '{{.Id}} {{.State.Running}}', ctx.cluster.containerOf(member)]).then(
    (o) => o.trim(),
    () => '',
  );

/** When the container runs again (a new one after `rm -f`). */
async function runningAgain(
  ctx: HealContext,
  member: string,
  removedId: string | undefined,
): Promise<number | undefined> {
  return until(BUDGET_MS, async () => {
    const [id, running] = (await containerId(ctx, member)).split(' ');
    return running === 'true' && id !== removedId ? now() : undefined;
  });
}

/** The monitor's record of its repair of a service since `since`: when it ended and what it says. */
async function monitorRecord(
  ctx: HealContext,
  service: string,
  since: number,
): Promise<{ at: number; text: string } | undefined> {
  const client = new Client({ connection: ctx.connection });
  return until(10_000, async () => {
    const s = await client.workflow.getHandle(`monitor-${ctx.cluster.name}`).query<MonitorStatus>('status');
    const a = [...s.lastActions]
      .reverse()
      .find(
        (x) =>
          (x.kind === 'start-service' || x.kind === 'recreate-service') && x.target === service && x.at >= since - 1000,
      );
    return a ? { at: a.at, text: `${a.kind} ${a.outcome}: ${a.detail}` } : undefined;
  });
}

/** Longest time without an ack within [from, to] (the gap the kill at `to` opens is the failover's, not counted). */
function gapBetween(w: NumberedWriter, from: number, to: number): number {
  let best = 0;
  let prev = from;
  for (const a of w.acks) {
    if (a.t < from) continue;
    if (a.t > to) break;
    best = Math.max(best, a.t - prev);
    prev = a.t;
  }
  return Math.max(best, to - prev);
}

async function withRoundWriters<T>(
  ctx: HealContext,
  withDirect: boolean,
  fn: (ws: LabelledWriter[]) => Promise<T>,
): Promise<{ ws: LabelledWriter[]; r: T; tEnd: number }> {
  const ws = await ctx.writers.forRound(withDirect, EXPECTED_WRITES);
  for (const w of ws) w.writer.start();
  try {
    await sleep(ctx.settleMs);
    const r = await fn(ws);
    await sleep(500); // a few acks after the repair
    return { ws, r, tEnd: now() };
  } finally {
    for (const w of ws) await w.writer.stop();
  }
}

export async function pgbouncerRound(
  ctx: HealContext,
  kind: 'kill-pgbouncer' | 'rm-pgbouncer',
  i: number,
): Promise<HealRound> {
  await waitGroupHealthy(ctx.cluster, 'coordinator');
  const notes: string[] = [];
  let tFault = 0;
  let tCmd = 0;
  let tRunning: number | undefined;
  let tAck: number | undefined;
  const { ws, tEnd } = await withRoundWriters(ctx, false, async (lws) => {
    const w = lws.find((x) => x.key === 'pgbouncer')!.writer;
    const removedId = kind === 'rm-pgbouncer' ? (await containerId(ctx, 'pgbouncer')).split(' ')[0] : undefined;
    tFault = now();
    await ctx.cluster.docker(
      kind === 'rm-pgbouncer'
        ? ['rm', '-f', ctx.cluster.containerOf('pgbouncer')]
        : ['kill', ctx.cluster.containerOf('pgbouncer')],
    );
    tCmd = now();
    tRunning = await runningAgain(ctx, 'pgbouncer', removedId);
    // The client's first acknowledged write after its first failure since the fault.
    tAck = await until(BUDGET_MS, async () => {
      const failed = w.errors.find((e) => e.t >= tFault);
      const ack = failed ? w.acks.find((a) => a.t > failed.t) : undefined;
      return ack?.t;
    });
  });
  const record = await monitorRecord(ctx, 'pgbouncer', tFault);
  if (record) notes.push(record.text);
  saveAcks(ctx, `${kind}${i}`, ws, { tFault, tCmd, tRunning, tAck, record });
  const writers = await figures(ws, tFault, tEnd, true);
  const pgb = writers.find((w) => w.key === 'pgbouncer');
  const ok = tRunning !== undefined && tAck !== undefined && pgb?.outageMs !== undefined && pgb.lost === 0;
  return {
    kind,
    round: i,
    ok,
    error: ok
      ? undefined
      : `PgBouncer ${tRunning ? 'runs again' : 'never ran again'}, ` +
        `${tAck ? 'writes acked again' : 'no write acked again'}, lost ${String(pgb?.lost)}`,
    writers,
    parts: {
      'docker command': tCmd - tFault,
      'fault -> PgBouncer container runs again': tRunning !== undefined ? tRunning - tFault : undefined,
      "fault -> monitor's repair recorded": record ? record.at - tFault : undefined,
      'fault -> first ack after the fault': tAck !== undefined ? tAck - tFault : undefined,
    },
    notes,
    load: loadavg(),
  };
}

export async function etcdRound(ctx: HealContext, kind: 'kill-etcd' | 'rm-etcd', i: number): Promise<HealRound> {
  const group = ctx.group;
  const { primary: victim } = await waitGroupHealthy(ctx.cluster, group);
  const before = await until(BUDGET_MS, () => etcdPrimaries(ctx.cluster, ETCD_READ_MS));
  if (!before) throw new Error('etcd does not answer before the fault');
  const client = new Client({ connection: ctx.connection });
  const notes: string[] = [];
  const t: Record<string, number | undefined> = {};
  let kept = false;
  let authOn = false;
  let run: FailoverRun | undefined;
  const { ws, tEnd } = await withRoundWriters(ctx, true, async () => {
    const removedId = kind === 'rm-etcd' ? (await containerId(ctx, 'etcd')).split(' ')[0] : undefined;
    t.fault = now();
    await ctx.cluster.docker(
      kind === 'rm-etcd' ? ['rm', '-f', ctx.cluster.containerOf('etcd')] : ['kill', ctx.cluster.containerOf('etcd')],
    );
    t.running = await runningAgain(ctx, 'etcd', removedId);
    // Back: answers an authenticated read, with the primaries it held before the fault.
    const after = await until(BUDGET_MS, () => etcdPrimaries(ctx.cluster, ETCD_READ_MS));
    t.back = after ? now() : undefined;
    kept = !!after && JSON.stringify(after) === JSON.stringify(before);
    authOn = await etcdAuthEnabled(
      ctx.cluster.spec.etcd.port,
      orchestratorTls(new TlsStore(ctx.cluster.stateDir), ctx.cluster.name),
    ).catch(() => false);
    if (!kept) notes.push(`etcd primaries before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
    t.monitorSees = await until(BUDGET_MS, async () =>
      (await client.workflow.getHandle(`monitor-${ctx.cluster.name}`).query<MonitorStatus>('status')).etcdOk
        ? now()
        : undefined,
    );
    // The next failover: the primary killed, the monitor fails it over through the repaired etcd.
    t.kill = now();
    await ctx.cluster.docker(['kill', ctx.cluster.containerOf(victim)]);
    t.newPrimary = await until(BUDGET_MS, async () => {
      const p = await etcdPrimaries(ctx.cluster, ETCD_READ_MS);
      return p[group] && p[group] !== victim ? now() : undefined;
    });
    run = await failoverRunAfter(
      client,
      `failover-${ctx.cluster.name}-${group}`,
      t.kill - 1000,
      t.kill + BUDGET_MS * 1.5,
    );
    t.streaming = await until(BUDGET_MS, async () => {
      const v = await observeGroup(ctx.cluster, group);
      return v.writable.length === 1 && v.streaming.includes(victim) ? now() : undefined;
    });
  });
  const record = await monitorRecord(ctx, 'etcd', t.fault ?? 0);
  if (record) notes.push(record.text);
  saveAcks(ctx, `${kind}${i}`, ws, { t, run, record, before });
  const writers = await figures(ws, t.kill ?? 0, tEnd, true);
  const pgb = ws.find((w) => w.key === 'pgbouncer')?.writer;
  const since = (x: number | undefined, from: number | undefined) =>
    x !== undefined && from !== undefined ? x - from : undefined;
  const outcome = run?.result?.outcome;
  const ok =
    t.back !== undefined &&
    kept &&
    authOn &&
    outcome === 'failed-over' &&
    t.streaming !== undefined &&
    writers.every((w) => w.lost === 0);
  return {
    kind,
    round: i,
    ok,
    error: ok
      ? undefined
      : `etcd ${t.back ? 'back' : 'never back'}${kept ? '' : ', primaries not kept'}` +
        `${authOn ? '' : ', authentication off'}; ` +
        `failover ${String(outcome)}; ${victim} ${t.streaming ? 'streams' : 'never streamed again'}; lost ` +
        `${writers.map((w) => w.lost).join('/')}`,
    writers,
    parts: {
      'fault -> etcd container runs again': since(t.running, t.fault),
      'fault -> etcd answers (authenticated, primaries kept)': since(t.back, t.fault),
      "fault -> monitor's repair recorded": record && t.fault !== undefined ? record.at - t.fault : undefined,
      'fault -> monitor reads etcd again': since(t.monitorSees, t.fault),
      'writes: longest gap while etcd was down':
        pgb && t.fault !== undefined && t.kill !== undefined ? gapBetween(pgb, t.fault, t.kill) : undefined,
      'next failover: kill -> monitor starts it': run ? since(run.startTime, t.kill) : undefined,
      'next failover: kill -> etcd names the new primary': since(t.newPrimary, t.kill),
      'next failover: kill -> killed member streams again': since(t.streaming, t.kill),
    },
    notes,
    load: loadavg(),
  };
}

export function healRound(ctx: HealContext, kind: HealKind, i: number): Promise<HealRound> {
  const r =
    kind === 'kill-pgbouncer' || kind === 'rm-pgbouncer' ? pgbouncerRound(ctx, kind, i) : etcdRound(ctx, kind, i);
  return r.catch((err: unknown): HealRound => ({
    kind,
    round: i,
    ok: false,
    error: errorMessage(err),
    writers: [],
    parts: {},
    notes: [],
    load: loadavg(),
  }));
}
