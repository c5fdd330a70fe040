/**
 * One round of bench/host-failover: the host holding g1's primary dies (`docker kill` of its host
 * container and, at once, SIGKILL of its `citusctl worker --host`) under numbered writers through
 * the clients' multi-host string; the monitor alone repairs. Measured: fault -> the monitor starts
 * g1's failover, fault -> etcd names the new primary (also for any other group whose primary the
 * host held), the failover's own timeline, g1's own write outage (the longest gap between
 * acknowledged rows real Citus places on g1) and the all-writers outage, lost acknowledged rows;
 * then the host boots again and its worker starts: restart -> the old primary streams from the new
 * one (pg_stat_replication; checked in recovery), restart -> every group healthy again.
 */
import type { Client as TemporalClient } from '@temporalio/client';
import { pgbouncerHosts } from '../../common/addressing';
import { primaryKey } from '../../common/etcd-keys';
import { placeCluster } from '../../common/placement';
import { idsPlacedOn, longestGapFrom } from '../../test/integration/support/group-writes';
import { failoverRunAfter, type FailoverRun } from '../auto-failover/round';
import { benchEtcd } from '../lib/etcd';
import { waitGroupHealthy } from '../lib/health';
import type { HostsCluster } from '../lib/hosts-cluster';
import type { MultiHostTarget } from '../lib/multi-host-target';
import type { HostFleet } from '../lib/sim-hosts-bench';
import { loadavg, now, sleep, withTimeout } from '../lib/util';
import { lostAcks, NumberedWriter, type IdSource } from '../lib/writer';

const GROUP = 'g1';
const REPAIR_BUDGET_MS = 240_000;
const RESUME_BUDGET_MS = 120_000;
const REJOIN_BUDGET_MS = 6 * 60_000;
/** Writes have resumed once every writer has this many rows acknowledged after the new primary. */
const RESUMED_ACKS = 10;

/** The round's named figures (ms), as printed and saved. */
export const PART = {
  detect: 'detection: fault -> monitor starts the failover',
  etcd: 'fault -> etcd names the new primary',
  g1Outage: "g1's write outage (longest gap between g1's rows)",
  g1Resumed: "fault -> g1's writes resume",
  allOutage: 'all writers: longest gap',
  streams: 'host restart -> old primary streams',
  healthy: 'host restart -> every group healthy',
} as const;

export interface HostRoundContext {
  cluster: HostsCluster;
  fleet: HostFleet;
  temporal: TemporalClient;
  target: MultiHostTarget;
  ids: IdSource;
  /** The Citus test double places no row on g1: no outage of g1's own to compute. */
  isDouble: boolean;
  writers: number;
  intervalMs: number;
  settleMs: number;
  /** Each round's acknowledgements and failed tries go here (round<i>.writes.json). */
  save: (file: string, doc: unknown) => void;
}

export interface HostRound {
  round: number;
  ok: boolean;
  error?: string;
  /** The host killed and what ran on it. */
  host: string;
  held: string[];
  /** g1's primary before and after. */
  from: string;
  to?: string;
  /** Every group whose primary the host held (g1 first): its new primary and when etcd named it. */
  failovers: Record<string, { from: string; to?: string; etcdMs?: number; detectMs?: number; outcome?: string }>;
  /** ms from the fault; the failover's timeline is under 'failover <step>'. */
  parts: Record<string, number | undefined>;
  /** g1's failover: its result's timeline, ms from its start. */
  timeline: Record<string, number>;
  acked: number;
  /** Of those, rows real Citus places on g1 (undefined on the test double, which places nothing). */
  g1Acked?: number;
  failedTries: number;
  lost: number;
  missing: number[];
  oldPrimaryInRecovery?: boolean;
  load: { atFault: string; atEnd: string };
}

/** What the host runs: its members, a PgBouncer, an etcd member (placement's, as `up` built it). */
function heldBy(cluster: HostsCluster, host: string): string[] {
  const placed = placeCluster(cluster.spec);
  return [
    ...cluster.spec.members.filter((m) => cluster.hostOf(m.name) === host).map((m) => m.name),
    ...(pgbouncerHosts(cluster.spec).some((h) => h.name === host) ? ['pgbouncer'] : []),
    ...(placed.etcd.includes(host) ? [`etcd-${host}`] : []),
  ];
}

/** Every group healthy (one writable member, every other streaming from it); their primaries. */
async function allHealthy(cluster: HostsCluster, timeoutMs: number): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const g of cluster.groups()) out[g] = (await waitGroupHealthy(cluster, g, timeoutMs)).primary;
  return out;
}

/** Polls etcd until each group names another primary than `from`; when (epoch ms), per group. */
async function newPrimaries(
  cluster: HostsCluster,
  from: Record<string, string>,
  until: number,
): Promise<Record<string, { to: string; at: number } | undefined>> {
  const etcd = benchEtcd(cluster, 1000);
  const out: Record<string, { to: string; at: number } | undefined> = {};
  try {
    while (now() < until && Object.keys(from).some((g) => !out[g])) {
      for (const g of Object.keys(from).filter((x) => !out[x])) {
        const p = await withTimeout(2000, 'etcd', () => etcd.get(primaryKey(cluster.name, g)).string()).catch(
          () => undefined,
        );
        if (p && p !== from[g]) out[g] = { to: p, at: now() };
      }
      await sleep(100);
    }
  } finally {
    etcd.close();
  }
  return out;
}

/** Until every writer has RESUMED_ACKS rows acknowledged after `since` (or the budget is spent). */
async function untilResumed(ws: NumberedWriter[], since: number, until: number): Promise<boolean> {
  const resumed = () => ws.every((w) => w.acks.filter((a) => a.t > since).length >= RESUMED_ACKS);
  while (!resumed() && now() < until) await sleep(100);
  return resumed();
}

export async function hostRound(ctx: HostRoundContext, i: number): Promise<HostRound> {
  const { cluster, fleet } = ctx;
  const before = await allHealthy(cluster, REJOIN_BUDGET_MS);
  const victim = before[GROUP]!;
  const host = cluster.hostOf(victim);
  // g1 first, then any other group whose primary dies with the host.
  const hit = Object.fromEntries(
    [GROUP, ...cluster.spec.workers.filter((g) => g !== GROUP && cluster.hostOf(before[g]!) === host)].map((g) => [
      g,
      before[g]!,
    ]),
  );
  const problems: string[] = [];
  const ws = Array.from({ length: ctx.writers }, () => new NumberedWriter(ctx.target, ctx.ids, ctx.intervalMs));
  let tFault = 0;
  let atFault = '';
  let moved: Record<string, { to: string; at: number } | undefined> = {};
  const runs: Record<string, FailoverRun | undefined> = {};
  let since = 0;
  try {
    for (const w of ws) w.start();
    await sleep(ctx.settleMs);
    if (ws.some((w) => !w.acks.length)) throw new Error(`a writer has no row acknowledged after ${ctx.settleMs} ms`);
    atFault = loadavg();
    tFault = now();
    await fleet.crash(host);
    const until = tFault + REPAIR_BUDGET_MS;
    moved = await newPrimaries(cluster, hit, until);
    for (const g of Object.keys(hit))
      runs[g] = await failoverRunAfter(ctx.temporal, `failover-${cluster.name}-${g}`, tFault - 1000, until);
    since = Math.max(tFault, ...Object.values(moved).map((m) => m?.at ?? 0));
    if (!(await untilResumed(ws, since, since + RESUME_BUDGET_MS)))
      problems.push(`writes did not resume within ${RESUME_BUDGET_MS} ms of the new primary`);
    await sleep(1000);
  } finally {
    for (const w of ws) await w.stop();
  }

  // What the writers saw.
  const acks = ws.flatMap((w) => w.acks);
  const coordinator = cluster.members('coordinator')[0]!.name;
  const g1Ids = await cluster
    .withClient(cluster.superuser(coordinator, { query_timeout: 60_000 }), (c) =>
      idsPlacedOn(
        c,
        ctx.target.table,
        cluster.members(GROUP).map((m) => m.name),
        acks.map((a) => a.id),
      ),
    )
    .catch((err: unknown) => void (ctx.isDouble || problems.push(`g1's rows: ${String(err)}`)));
  if (!ctx.isDouble && g1Ids && !g1Ids.size) problems.push('no acknowledged row is placed on g1');
  const g1Times = g1Ids?.size ? acks.filter((a) => g1Ids.has(a.id)).map((a) => a.t) : undefined;
  const g1Gap = g1Times ? longestGapFrom(g1Times, tFault) : undefined;
  const allGap = longestGapFrom(
    acks.map((a) => a.t),
    tFault,
  );
  const lost = await Promise.all(
    ws.map((w) => lostAcks(w).catch((err: unknown) => void problems.push(`read-back: ${String(err)}`))),
  );
  const missing = lost.flatMap((l) => l?.lost ?? []);
  ctx.save(`round${i}.writes.json`, {
    tFault,
    host,
    writers: ws.map((w) => ({ label: w.target.label, acks: w.acks, errors: w.errors, routes: w.routes })),
  });

  // The host boots again with its worker: the monitor rejoins the old primary as a standby.
  const tRestart = now();
  await fleet.restart(host);
  const newPrimary = moved[GROUP]?.to;
  let streamingAt: number | undefined;
  let inRecovery: boolean | undefined;
  if (newPrimary) {
    for (const end = now() + REJOIN_BUDGET_MS; now() < end && !streamingAt; await sleep(500))
      if ((await cluster.streamingFrom(newPrimary).catch((): string[] => [])).includes(victim)) streamingAt = now();
    inRecovery = streamingAt ? (await cluster.role(victim, 5000)) === 'standby' : undefined;
  }
  const healthyAt = await allHealthy(cluster, REJOIN_BUDGET_MS).then(
    () => now(),
    (err: unknown) => void problems.push(String(err)),
  );

  const g1Run = runs[GROUP];
  const timeline = g1Run?.result?.timeline ?? {};
  const started = timeline.started;
  const sinceFault = (t: number | undefined) => (t !== undefined ? t - tFault : undefined);
  for (const [g, from] of Object.entries(hit)) {
    if (!moved[g]) problems.push(`etcd never named another primary of ${g} than ${from}`);
    if (runs[g]?.result?.outcome !== 'failed-over')
      problems.push(`${g}'s failover: ${String(runs[g]?.result?.outcome)}`);
  }
  if (missing.length) problems.push(`LOST ${missing.length} ACKNOWLEDGED WRITES (${missing.slice(0, 10).join(', ')})`);
  if (g1Times && !g1Times.some((t) => t > since)) problems.push("g1's writes did not resume after the failover");
  if (!streamingAt) problems.push(`${victim} never streamed from ${String(moved[GROUP]?.to)}`);
  if (streamingAt && inRecovery !== true) problems.push(`${victim} streams but is not in recovery`);
  return {
    round: i,
    ok: problems.length === 0,
    error: problems.length ? problems.join('; ') : undefined,
    host,
    held: heldBy(cluster, host),
    from: victim,
    to: moved[GROUP]?.to,
    failovers: Object.fromEntries(
      Object.entries(hit).map(([g, from]) => [
        g,
        {
          from,
          to: moved[g]?.to,
          etcdMs: sinceFault(moved[g]?.at),
          detectMs: sinceFault(runs[g]?.startTime),
          outcome: runs[g]?.result?.outcome,
        },
      ]),
    ),
    parts: {
      [PART.detect]: sinceFault(g1Run?.startTime),
      ...Object.fromEntries(
        Object.entries(timeline)
          .filter(([k]) => k !== 'started')
          .map(([k, t]) => [`fault -> failover ${k}`, sinceFault(t)]),
      ),
      [PART.etcd]: sinceFault(moved[GROUP]?.at),
      [PART.g1Outage]: g1Gap?.gapMs,
      [PART.g1Resumed]: sinceFault(g1Gap?.endsAt),
      [PART.allOutage]: allGap.gapMs,
      [PART.streams]: streamingAt !== undefined ? streamingAt - tRestart : undefined,
      [PART.healthy]: healthyAt !== undefined ? healthyAt - tRestart : undefined,
    },
    timeline: Object.fromEntries(Object.entries(timeline).map(([k, t]) => [k, t - (started ?? t)])),
    acked: acks.length,
    g1Acked: g1Times?.length,
    failedTries: ws.reduce((n, w) => n + w.errors.filter((e) => e.t >= tFault).length, 0),
    lost: missing.length,
    missing: missing.slice(0, 20),
    oldPrimaryInRecovery: inRecovery,
    load: { atFault, atEnd: loadavg() },
  };
}
