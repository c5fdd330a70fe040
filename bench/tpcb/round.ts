/**
 * One round of bench/tpcb: TPC-B clients running, `docker kill` of the group's primary, and nothing
 * else: the monitor fails the group over. The clients go on until no transaction is left in doubt
 * and settleMs more have passed, then stop; the round reports the longest client stall, the
 * transactions left in doubt, the failover workflow's outcome and the balance invariant.
 */
import type { Client } from '@temporalio/client';
import type { BenchCluster } from '../lib/cluster';
import { etcdPrimaries } from '../lib/etcd';
import { waitGroupHealthy } from '../lib/health';
import {
  checkInvariant,
  InDoubtSampler,
  stalls,
  type InDoubtReport,
  type InvariantCheck,
  type Stall,
  type Tpcb,
} from '../lib/tpcb';
import { errorMessage, loadavg, now, sleep } from '../lib/util';

export interface TpcbRoundContext {
  cluster: BenchCluster;
  tpcb: Tpcb;
  temporal: Client;
  group: string;
  warmupMs: number;
  settleMs: number;
}

export interface TpcbRound {
  round: number;
  from: string;
  to?: string;
  ok: boolean;
  error?: string;
  /** Longest first, one per client. */
  stalls: Stall[];
  commits: number;
  aborts: number;
  errors: Record<string, number>;
  inDoubt: InDoubtReport;
  invariant: InvariantCheck;
  outcome?: string;
  /** The failover workflow's window (start -> Citus points at the new primary). */
  outageWindowMs?: number;
  /** The failover's steps, seconds after the fault (where the stall went). */
  stepTimes?: string;
  parts: Record<string, number | undefined>;
  load: string;
}

const REPAIR_BUDGET_MS = 180_000;
const IN_DOUBT_BUDGET_MS = 90_000;

interface FailoverRun {
  startTime: number;
  closeTime?: number;
  result?: { outcome?: string; newPrimary?: string; outageWindowMs?: number };
  /** The failover's steps as its `progress` query reports them (workflow clock, same host). */
  steps?: { name: string; state: string; startedAt?: number; endedAt?: number }[];
}

/** The group's failover workflow that started after `since`, once it closed. */
async function failoverAfter(ctx: TpcbRoundContext, since: number, until: number): Promise<FailoverRun | undefined> {
  const id = `failover-${ctx.cluster.name}-${ctx.group}`;
  while (now() < until) {
    const d = await ctx.temporal.workflow
      .getHandle(id)
      .describe()
      .catch(() => undefined);
    if (d && d.startTime.getTime() >= since && d.status.name !== 'RUNNING') {
      const result =
        d.status.name === 'COMPLETED'
          ? ((await ctx.temporal.workflow.getHandle(id, d.runId).result()) as FailoverRun['result'])
          : undefined;
      const steps = await ctx.temporal.workflow
        .getHandle(id, d.runId)
        .query<{ steps: FailoverRun['steps'] }>('progress')
        .then((p) => p.steps)
        .catch(() => undefined);
      return { startTime: d.startTime.getTime(), closeTime: d.closeTime?.getTime(), result, steps };
    }
    await sleep(200);
  }
  return undefined;
}

/**
 * Healthy and synchronous again: the monitor refuses (allowAsyncFailover: false) to fail over a
 * primary that had no synchronous standby, and a rejoined standby streams a moment before the
 * failover names it in synchronous_standby_names.
 */
/** Three of the monitor's probe intervals (500 ms). */
const MONITOR_CATCH_UP_MS = 1500;

async function waitSynchronous(ctx: TpcbRoundContext): Promise<string> {
  const deadline = now() + REPAIR_BUDGET_MS;
  for (;;) {
    const { primary } = await waitGroupHealthy(ctx.cluster, ctx.group);
    const sync = await ctx.cluster
      .withClient(
        ctx.cluster.superuser(primary, { query_timeout: 2000 }),
        async (c) =>
          (
            await c.query<{ n: string }>(
              'SELECT count(*) AS n FROM pg_stat_replication ' +
                "WHERE state = 'streaming' AND sync_state IN ('sync', 'quorum')",
            )
          ).rows[0]?.n,
      )
      .catch(() => '0');
    if (Number(sync) > 0 || ctx.cluster.spec.durability !== 'synchronous') {
      // The monitor decides from its own last probe of the primary: give it time to see the standby
      // synchronous too, or it rightly refuses to promote a standby it last saw asynchronous.
      await sleep(MONITOR_CATCH_UP_MS);
      return primary;
    }
    if (now() > deadline) throw new Error(`${ctx.group}: no synchronous standby after ${REPAIR_BUDGET_MS} ms`);
    await sleep(500);
  }
}

export async function tpcbRound(ctx: TpcbRoundContext, i: number): Promise<TpcbRound> {
  const victim = await waitSynchronous(ctx);
  const survivors = ctx.cluster.spec.workers
    .flatMap((g) => ctx.cluster.members(g).map((m) => m.name))
    .filter((m) => m !== victim);
  const run = await ctx.tpcb.start(`round${String(i).padStart(2, '0')}`);
  let tFault = 0;
  let newPrimaryAt: number | undefined;
  let fo: FailoverRun | undefined;
  let sampler: InDoubtSampler | undefined;
  let error: string | undefined;
  try {
    await sleep(ctx.warmupMs);
    tFault = now();
    sampler = new InDoubtSampler(ctx.cluster, survivors, tFault);
    sampler.start();
    await ctx.cluster.docker(['kill', ctx.cluster.containerOf(victim)]);
    // The kill command returns some time after the process died
    // (seconds on a loaded machine): Docker's own time of death.
    const died = Date.parse(
      (
        await ctx.cluster
          .docker(['inspect', '-f', '{{.State.FinishedAt}}', ctx.cluster.containerOf(victim)])
          .catch(() => '')
      ).trim(),
    );
    if (Number.isFinite(died) && died > tFault - 1000) sampler.tFault = died;
    const until = tFault + REPAIR_BUDGET_MS;
    while (now() < until && !newPrimaryAt) {
      const p = await etcdPrimaries(ctx.cluster).catch(() => ({}) as Record<string, string | undefined>);
      if (p[ctx.group] && p[ctx.group] !== victim) newPrimaryAt = now();
      else await sleep(100);
    }
    fo = await failoverAfter(ctx, tFault - 1000, until);
    // Clients go on until nothing is left in doubt (what would stall them), then settleMs more.
    const doubtUntil = now() + IN_DOUBT_BUDGET_MS;
    await sleep(1500);
    while (now() < doubtUntil && sampler.current().length) await sleep(250);
    await sleep(ctx.settleMs);
  } catch (err) {
    error = errorMessage(err);
  }
  const tEnd = now();
  const log = await run.stop();
  const primaries = await etcdPrimaries(ctx.cluster).catch(() => ({}) as Record<string, string | undefined>);
  const coordinator = primaries.coordinator ?? ctx.cluster.members('coordinator')[0]!.name;
  const invariant = await checkInvariant(ctx.cluster, coordinator, survivors);
  // Sampled until the invariant is checked: what it had to wait for shows here too.
  const inDoubt = (await sampler?.stop()) ?? { gids: [], beforeFault: 0, members: [] };
  const st = tFault ? stalls(log, tFault, tEnd) : [];
  const outcome = fo?.result?.outcome;
  const ok = !error && outcome === 'failed-over' && invariant.holds;
  return {
    round: i,
    from: victim,
    to: fo?.result?.newPrimary,
    ok,
    error:
      error ??
      (outcome !== 'failed-over'
        ? `failover outcome ${String(outcome)}`
        : !invariant.holds
          ? 'balance invariant violated'
          : undefined),
    stalls: st,
    commits: log.clients.reduce((a, c) => a + c.commits.filter((t) => t >= run.tStart).length, 0),
    aborts: log.clients.reduce((a, c) => a + c.aborts, 0),
    errors: log.errors,
    inDoubt,
    invariant,
    outcome,
    outageWindowMs: fo?.result?.outageWindowMs,
    stepTimes: tFault ? stepTimes(fo?.steps, tFault) : undefined,
    parts: {
      'fault -> monitor starts failover': fo ? fo.startTime - tFault : undefined,
      'fault -> etcd names the new primary': newPrimaryAt !== undefined ? newPrimaryAt - tFault : undefined,
      'fault -> failover workflow closed': fo?.closeTime !== undefined ? fo.closeTime - tFault : undefined,
      'fault -> a transaction last seen in doubt': inDoubt.lastSeenMs,
    },
    load: loadavg(),
  };
}

/** "lock 1.52-1.61 confirm-down 1.61-1.70 ...": each step's start and end in seconds after the fault. */
function stepTimes(steps: FailoverRun['steps'], tFault: number): string | undefined {
  if (!steps) return undefined;
  const at = (t: number) => ((t - tFault) / 1000).toFixed(2);
  return steps
    .filter((s) => s.startedAt !== undefined && s.state !== 'skipped')
    .map((s) => `${s.name} ${at(s.startedAt!)}-${s.endedAt !== undefined ? at(s.endedAt) : '?'}`)
    .join(' ');
}
