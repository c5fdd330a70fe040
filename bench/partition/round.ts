/**
 * The partition bench's two kinds of round, the monitor alone repairing:
 *  - partitionRound: `docker network disconnect` of a group's primary under the numbered writers;
 *    measured: the monitor's detection, the time until etcd names a new primary, the client write
 *    outage, lost acknowledged writes; checked: the old primary's container is no longer running
 *    when the new one is recorded, it takes no write once reconnected (kept partitioned holdMs
 *    after the promotion, then put back), and no group has two writable members while it rejoins;
 *  - freezeRound: three 1 s freezes of the primary (`docker pause`, SIGSTOP of the postmaster, or
 *    a 1 s network cut), which must start no failover.
 */
import { Client, Connection } from '@temporalio/client';
import type { CliResult } from '../lib/cli';
import { etcdPrimaries } from '../lib/etcd';
import { observeGroup, waitGroupHealthy } from '../lib/health';
import { acceptsWrite, disconnectMember, reconnectMember } from '../lib/network';
import { loadavg, now, sleep } from '../lib/util';
import { failoverRunAfter, type AutoContext, type FailoverRun } from '../auto-failover/round';
import { figures, saveAcks, withWriters, type RoundResult } from '../failover/scenarios';

const REPAIR_BUDGET_MS = 240_000;

export interface PartitionContext extends AutoContext {
  /** How long the old primary stays cut off after the new one is recorded. */
  holdMs: number;
}

export interface PartitionRound extends RoundResult {
  /** Docker's state of the old primary's container when etcd named the new primary. */
  oldPrimaryAtPromotion?: string;
  /** A write tried on the old primary's port right after it was reconnected. */
  writeAfterReconnect?: { accepted: boolean; detail: string };
  /** Most writable members seen in each group from the reconnect until the old primary streamed again. */
  maxWritable: Record<string, number>;
  /** Why the monitor started the failover (its status query: the viewpoint that confirmed it). */
  reason?: string;
}

/** The reason the monitor gave when it started the group's latest failover. */
async function monitorReason(client: Client, cluster: string, group: string): Promise<string | undefined> {
  const st = await client.workflow
    .getHandle(`monitor-${cluster}`)
    .query<{ lastActions: { kind: string; target: string; outcome: string; detail: string }[] }>('status')
    .catch(() => undefined);
  return st?.lastActions
    .filter((a) => a.kind === 'failover' && a.target === group && a.outcome === 'started')
    .pop()
    ?.detail.replace(/^[^:]*: /, '');
}

const withTemporal = async <T>(address: string, fn: (client: Client) => Promise<T>): Promise<T> => {
  const connection = await Connection.connect({ address });
  try {
    return await fn(new Client({ connection }));
  } finally {
    await connection.close();
  }
};

const noCli = (t: number): CliResult => ({
  args: [],
  code: 0,
  signal: null,
  doc: {},
  tSpawn: t,
  tExit: now(),
  stderr: '',
  junk: [],
});

export async function partitionRound(ctx: PartitionContext, i: number): Promise<PartitionRound> {
  const { cluster, group } = ctx;
  const { primary: victim } = await waitGroupHealthy(cluster, group);
  return withTemporal(ctx.temporalAddress, async (client) => {
    let tFault = 0;
    let newPrimaryAt: number | undefined;
    let reconnectedAt: number | undefined;
    let streamingAt: number | undefined;
    let oldPrimaryAtPromotion: string | undefined;
    let writeAfterReconnect: PartitionRound['writeAfterReconnect'];
    let run: FailoverRun | undefined;
    let reason: string | undefined;
    const maxWritable: Record<string, number> = {};
    const r = await withWriters(ctx, true, async () => {
      tFault = now();
      await disconnectMember(cluster, victim);
      const until = tFault + REPAIR_BUDGET_MS;
      try {
        while (now() < until && !newPrimaryAt) {
          const p = await etcdPrimaries(cluster).catch(() => ({}) as Record<string, string | undefined>);
          if (p[group] && p[group] !== victim) newPrimaryAt = now();
          else await sleep(100);
        }
        oldPrimaryAtPromotion = await cluster.containerState(victim);
        reason = await monitorReason(client, cluster.name, group);
        await sleep(ctx.holdMs);
      } finally {
        await reconnectMember(cluster, victim);
        reconnectedAt = now();
      }
      writeAfterReconnect = await acceptsWrite(cluster, victim);
      // Every group, until the old primary streams from the new one: never two writable members.
      while (now() < until && !streamingAt) {
        const views = await Promise.all(cluster.groups().map((g) => observeGroup(cluster, g).catch(() => undefined)));
        for (const v of views) if (v) maxWritable[v.group] = Math.max(maxWritable[v.group] ?? 0, v.writable.length);
        const mine = views.find((v) => v?.group === group);
        if (mine && mine.writable.length === 1 && mine.streaming.includes(victim)) streamingAt = now();
        else await sleep(500);
      }
      run = await failoverRunAfter(client, `failover-${cluster.name}-${group}`, tFault - 1000, until);
      return { tFault, cli: noCli(tFault) };
    });
    saveAcks(ctx, `partition${i}`, r.ws, {
      tFault,
      newPrimaryAt,
      reconnectedAt,
      streamingAt,
      oldPrimaryAtPromotion,
      writeAfterReconnect,
      maxWritable,
      reason,
      run,
    });
    const res = run?.result;
    const tl = res?.timeline ?? {};
    const since = (t: number | undefined) => (t !== undefined ? t - tFault : undefined);
    const twoWritable = Object.entries(maxWritable)
      .filter(([, n]) => n > 1)
      .map(([g, n]) => `${g}: ${n} writable`);
    const problems = [
      ...(res?.outcome === 'failed-over' ? [] : [`failover outcome ${String(res?.outcome)}`]),
      ...(newPrimaryAt ? [] : ['no new primary recorded']),
      ...(oldPrimaryAtPromotion === 'running'
        ? [`${victim}'s container still running when the new primary was recorded`]
        : []),
      ...(writeAfterReconnect?.accepted
        ? [`${victim} accepted a write after reconnecting (${writeAfterReconnect.detail})`]
        : []),
      ...twoWritable,
      ...(streamingAt ? [] : [`${victim} never streamed again`]),
    ];
    return {
      kind: 'failover',
      round: i,
      ok: problems.length === 0,
      error: problems.length ? problems.join('; ') : undefined,
      from: victim,
      to: res?.newPrimary,
      writers: await figures(r.ws, tFault, r.cli.tExit, true),
      parts: {
        'detection: fault -> monitor starts failover': run ? run.startTime - tFault : undefined,
        'fault -> confirmed down': since(tl.confirmedDown),
        'fault -> fenced (old primary killed)': since(tl.fenced),
        'fault -> etcd names the new primary': since(newPrimaryAt),
        'workflow outageWindowMs (started -> metadata)': res?.outageWindowMs,
        'fault -> reconnected': since(reconnectedAt),
        'fault -> old primary streams again': since(streamingAt),
      },
      oldPrimaryAtPromotion,
      writeAfterReconnect,
      maxWritable,
      reason,
      load: loadavg(),
    };
  });
}

export type FreezeKind = 'pause' | 'sigstop' | 'cut';
export const FREEZE_KINDS: readonly FreezeKind[] = ['pause', 'sigstop', 'cut'];

export interface FreezeRound {
  kind: FreezeKind;
  victim: string;
  /** How long each freeze really lasted (the docker commands take time too). */
  frozenMs: number[];
  /** Failover workflows of the group started after the first freeze. */
  failovers: number;
  primaryAfter?: string;
  /** Longest time without an ack (PgBouncer writer). */
  maxGapMs?: number;
  lost: number;
  ok: boolean;
  load: string;
}

/** Freezes `member` for about ms, returning how long it really was frozen. */
async function freezeOnce(ctx: PartitionContext, kind: FreezeKind, member: string, ms: number): Promise<number> {
  const { cluster } = ctx;
  const container = cluster.containerOf(member);
  const t0 = now();
  if (kind === 'pause') {
    // On a loaded machine the cgroup freezer may time out ("unable to freeze"): try again.
    for (let attempt = 1; ; attempt++) {
      try {
        await cluster.docker(['pause', container]);
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
        await sleep(500);
      }
    }
    await sleep(ms);
    await cluster.docker(['unpause', container]);
  } else if (kind === 'sigstop') {
    // The container's first process is the postmaster (the bootstrap execs it): stopped, it accepts
    // no connection while Docker says the container runs, the freeze only the thresholds guard against.
    const pid = Number((await cluster.docker(['inspect', '-f', '{{.State.Pid}}', container])).trim());
    if (!pid) throw new Error(`${container} has no pid`);
    process.kill(pid, 'SIGSTOP');
    try {
      await sleep(ms);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  } else {
    await disconnectMember(cluster, member);
    try {
      await sleep(ms);
    } finally {
      await reconnectMember(cluster, member);
    }
  }
  return now() - t0;
}

export async function freezeRound(
  ctx: PartitionContext,
  kind: FreezeKind,
  count: number,
  freezeMs: number,
  gapMs: number,
  watchMs: number,
): Promise<FreezeRound> {
  const { cluster, group } = ctx;
  const { primary: victim } = await waitGroupHealthy(cluster, group);
  const frozenMs: number[] = [];
  let tFirst = 0;
  const r = await withWriters(ctx, true, async () => {
    tFirst = now();
    for (let n = 0; n < count; n++) {
      frozenMs.push(await freezeOnce(ctx, kind, victim, freezeMs));
      await sleep(gapMs);
    }
    await sleep(watchMs); // several detection windows after the last one
    return { tFault: tFirst, cli: noCli(tFirst) };
  });
  saveAcks(ctx, `freeze-${kind}`, r.ws, { tFirst, frozenMs });
  const failovers = await withTemporal(ctx.temporalAddress, async (client) => {
    const d = await client.workflow
      .getHandle(`failover-${cluster.name}-${group}`)
      .describe()
      .catch(() => undefined);
    return d && d.startTime.getTime() >= tFirst - 1000 ? 1 : 0;
  });
  const primaryAfter = (await etcdPrimaries(cluster).catch(() => ({}) as Record<string, string | undefined>))[group];
  const figs = await figures(r.ws, tFirst, r.cli.tExit, false);
  const lost = figs.reduce((n, f) => n + f.lost, 0);
  return {
    kind,
    victim,
    frozenMs,
    failovers,
    primaryAfter,
    maxGapMs: figs.find((f) => f.key === 'pgbouncer')?.maxGapMs,
    lost,
    ok: failovers === 0 && primaryAfter === victim && lost === 0,
    load: loadavg(),
  };
}
