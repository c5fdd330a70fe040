/**
 * What both kinds of bench/host-failover round share (kill-round.ts, partition-round.ts): the host
 * holding g1's primary and the groups whose primaries it holds; the fault under numbered writers
 * through the clients' multi-host string, the monitor alone repairing (fault -> the monitor starts
 * g1's failover, fault -> etcd names the new primary, also for any other group the host held, the
 * failover's own timeline); what the writers saw (g1's own write outage: the longest gap between
 * acknowledged rows real Citus places on g1; the all-writers gap; lost acknowledged rows); the old
 * primary streaming from the new one once its host is back; and the round's record.
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
import { lostAcks, NumberedWriter, type Ack, type IdSource } from '../lib/writer';

export const GROUP = 'g1';
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
  selfFence: "cut -> the host's worker stops its primary (self-fence)",
  healStreams: 'heal -> old primary streams',
  healHealthy: 'heal -> every group healthy',
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
  /** kill: the host container and its worker SIGKILLed; cut: the host off the hosts network. */
  fault: 'kill' | 'cut';
  ok: boolean;
  error?: string;
  /** The host hit and what ran on it. */
  host: string;
  held: string[];
  /** g1's primary before and after. */
  from: string;
  to?: string;
  /** Every group whose primary the host held (g1 first): its new primary and when etcd named it. */
  failovers: Record<string, { from: string; to?: string; etcdMs?: number; detectMs?: number; outcome?: string }>;
  /** ms from the fault (a heal's from the heal); the failover's timeline is under 'fault -> failover <step>'. */
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
  /** cut: the cut host's worker's self-fence lines after the cut. */
  selfFence?: string[];
  /** cut: the writable members polled from the heal on (exactly one per group at every poll, or violations). */
  writable?: { polls: number; violations: string[] };
  /** cut: the writer on the cut host itself (support/isolated-writer.ts), when it ran. */
  isolated?: {
    acked: number;
    /** Rows read back after the cut (psql's answer through two docker execs), the last ms after it. */
    afterCut: number;
    lastAfterCutMs?: number;
    /** When its loop ended by itself (its member's container stopped), ms after the cut. */
    endedMs?: number;
    /** Acknowledged rows g1's new primary lacks (must be 0). */
    missing: number;
    /** psql's last words. */
    end: string;
  };
  load: { atFault: string; atEnd: string };
}

/** The host holding g1's primary, and every group whose primary it holds (g1 first). */
export interface RoundTargets {
  victim: string;
  host: string;
  hit: Record<string, string>;
}

/** What happened from the fault until the writers stopped. */
export interface Faulted {
  tFault: number;
  atFault: string;
  moved: Record<string, { to: string; at: number } | undefined>;
  runs: Record<string, FailoverRun | undefined>;
  /** When the last hit group's new primary was named (the writers' resumption is counted from there). */
  since: number;
  ws: NumberedWriter[];
  problems: string[];
}

/** What the writers saw. */
export interface WriteFigures {
  acks: Ack[];
  g1Times?: number[];
  g1Gap?: { gapMs: number; endsAt: number };
  allGap: { gapMs: number; endsAt: number };
  missing: number[];
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

/** Once every group is healthy: the host of g1's primary and the groups whose primaries it holds. */
export async function roundTargets(cluster: HostsCluster): Promise<RoundTargets> {
  const before = await allHealthy(cluster, REJOIN_BUDGET_MS);
  const victim = before[GROUP]!;
  const host = cluster.hostOf(victim);
  const groups = [GROUP, ...cluster.spec.workers.filter((g) => g !== GROUP && cluster.hostOf(before[g]!) === host)];
  return { victim, host, hit: Object.fromEntries(groups.map((g) => [g, before[g]!])) };
}

/**
 * The writers start; after settleMs, `fault()`; then until etcd names new primaries, the monitor's
 * failovers end and every writer has rows acknowledged after them, and `writeOnMs` more; then the
 * writers stop.
 */
export async function faultUnderWriters(
  ctx: HostRoundContext,
  t: RoundTargets,
  fault: () => Promise<void>,
  writeOnMs: number,
): Promise<Faulted> {
  const ws = Array.from({ length: ctx.writers }, () => new NumberedWriter(ctx.target, ctx.ids, ctx.intervalMs));
  const f: Faulted = { tFault: 0, atFault: '', moved: {}, runs: {}, since: 0, ws, problems: [] };
  try {
    for (const w of ws) w.start();
    await sleep(ctx.settleMs);
    if (ws.some((w) => !w.acks.length)) throw new Error(`a writer has no row acknowledged after ${ctx.settleMs} ms`);
    f.atFault = loadavg();
    f.tFault = now();
    await fault();
    const until = f.tFault + REPAIR_BUDGET_MS;
    f.moved = await newPrimaries(ctx.cluster, t.hit, until);
    for (const g of Object.keys(t.hit))
      f.runs[g] = await failoverRunAfter(ctx.temporal, `failover-${ctx.cluster.name}-${g}`, f.tFault - 1000, until);
    f.since = Math.max(f.tFault, ...Object.values(f.moved).map((m) => m?.at ?? 0));
    if (!(await untilResumed(ws, f.since, f.since + RESUME_BUDGET_MS)))
      f.problems.push(`writes did not resume within ${RESUME_BUDGET_MS} ms of the new primary`);
    await sleep(writeOnMs);
  } finally {
    for (const w of ws) await w.stop();
  }
  return f;
}

/** What the writers saw (their acknowledgements and failed tries saved to round<i>.writes.json). */
export async function writeFigures(
  ctx: HostRoundContext,
  i: number,
  t: RoundTargets,
  f: Faulted,
): Promise<WriteFigures> {
  const { cluster } = ctx;
  const acks = f.ws.flatMap((w) => w.acks);
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
    .catch((err: unknown) => void (ctx.isDouble || f.problems.push(`g1's rows: ${String(err)}`)));
  if (!ctx.isDouble && g1Ids && !g1Ids.size) f.problems.push('no acknowledged row is placed on g1');
  const g1Times = g1Ids?.size ? acks.filter((a) => g1Ids.has(a.id)).map((a) => a.t) : undefined;
  const lost = await Promise.all(
    f.ws.map((w) => lostAcks(w).catch((err: unknown) => void f.problems.push(`read-back: ${String(err)}`))),
  );
  ctx.save(`round${i}.writes.json`, {
    tFault: f.tFault,
    host: t.host,
    writers: f.ws.map((w) => ({ label: w.target.label, acks: w.acks, errors: w.errors, routes: w.routes })),
  });
  return {
    acks,
    g1Times,
    g1Gap: g1Times ? longestGapFrom(g1Times, f.tFault) : undefined,
    allGap: longestGapFrom(
      acks.map((a) => a.t),
      f.tFault,
    ),
    missing: lost.flatMap((l) => l?.lost ?? []),
  };
}

/** When the old primary streams from the new one, and whether it is in recovery. */
async function untilOldPrimaryStreams(
  cluster: HostsCluster,
  oldPrimary: string,
  newPrimary: string | undefined,
): Promise<{ streamingAt?: number; inRecovery?: boolean }> {
  if (!newPrimary) return {};
  for (const end = now() + REJOIN_BUDGET_MS; now() < end; await sleep(500))
    if ((await cluster.streamingFrom(newPrimary).catch((): string[] => [])).includes(oldPrimary))
      return { streamingAt: now(), inRecovery: (await cluster.role(oldPrimary, 5000)) === 'standby' };
  return {};
}

export interface Rejoin {
  /** When the old primary streamed from the new one (epoch ms), and whether it was in recovery. */
  streamingAt?: number;
  inRecovery?: boolean;
  /** When every group was healthy again. */
  healthyAt?: number;
  problems: string[];
}

/** Once the host is back: the monitor rejoins the old primary as a standby of the new one. */
export async function rejoined(cluster: HostsCluster, oldPrimary: string, newPrimary?: string): Promise<Rejoin> {
  const problems: string[] = [];
  const { streamingAt, inRecovery } = await untilOldPrimaryStreams(cluster, oldPrimary, newPrimary);
  const healthyAt = await allHealthy(cluster, REJOIN_BUDGET_MS).then(
    () => now(),
    (err: unknown) => void problems.push(String(err)),
  );
  if (!streamingAt) problems.push(`${oldPrimary} never streamed from ${String(newPrimary)}`);
  if (streamingAt && inRecovery !== true) problems.push(`${oldPrimary} streams but is not in recovery`);
  return { streamingAt, inRecovery, healthyAt: healthyAt ?? undefined, problems };
}

/** The round's record: `back` are the fault's own figures and problems (the host's return, a cut's checks). */
export function hostRoundOf(
  ctx: HostRoundContext,
  i: number,
  t: RoundTargets,
  f: Faulted,
  w: WriteFigures,
  back: Pick<HostRound, 'fault' | 'oldPrimaryInRecovery' | 'selfFence' | 'writable' | 'isolated'> & {
    parts: HostRound['parts'];
    problems: string[];
  },
): HostRound {
  const g1Run = f.runs[GROUP];
  const timeline = g1Run?.result?.timeline ?? {};
  const started = timeline.started;
  const sinceFault = (x: number | undefined) => (x !== undefined ? x - f.tFault : undefined);
  const problems = [...f.problems];
  for (const [g, from] of Object.entries(t.hit)) {
    if (!f.moved[g]) problems.push(`etcd never named another primary of ${g} than ${from}`);
    if (f.runs[g]?.result?.outcome !== 'failed-over')
      problems.push(`${g}'s failover: ${String(f.runs[g]?.result?.outcome)}`);
  }
  if (w.missing.length)
    problems.push(`LOST ${w.missing.length} ACKNOWLEDGED WRITES (${w.missing.slice(0, 10).join(', ')})`);
  if (w.g1Times && !w.g1Times.some((x) => x > f.since)) problems.push("g1's writes did not resume after the failover");
  problems.push(...back.problems);
  return {
    round: i,
    fault: back.fault,
    ok: problems.length === 0,
    error: problems.length ? problems.join('; ') : undefined,
    host: t.host,
    held: heldBy(ctx.cluster, t.host),
    from: t.victim,
    to: f.moved[GROUP]?.to,
    failovers: Object.fromEntries(
      Object.entries(t.hit).map(([g, from]) => [
        g,
        {
          from,
          to: f.moved[g]?.to,
          etcdMs: sinceFault(f.moved[g]?.at),
          detectMs: sinceFault(f.runs[g]?.startTime),
          outcome: f.runs[g]?.result?.outcome,
        },
      ]),
    ),
    parts: {
      [PART.detect]: sinceFault(g1Run?.startTime),
      ...Object.fromEntries(
        Object.entries(timeline)
          .filter(([k]) => k !== 'started')
          .map(([k, x]) => [`fault -> failover ${k}`, sinceFault(x)]),
      ),
      [PART.etcd]: sinceFault(f.moved[GROUP]?.at),
      [PART.g1Outage]: w.g1Gap?.gapMs,
      [PART.g1Resumed]: sinceFault(w.g1Gap?.endsAt),
      [PART.allOutage]: w.allGap.gapMs,
      ...back.parts,
    },
    timeline: Object.fromEntries(Object.entries(timeline).map(([k, x]) => [k, x - (started ?? x)])),
    acked: w.acks.length,
    g1Acked: w.g1Times?.length,
    failedTries: f.ws.reduce((n, x) => n + x.errors.filter((e) => e.t >= f.tFault).length, 0),
    lost: w.missing.length,
    missing: w.missing.slice(0, 20),
    oldPrimaryInRecovery: back.oldPrimaryInRecovery,
    selfFence: back.selfFence,
    writable: back.writable,
    isolated: back.isolated,
    load: { atFault: f.atFault, atEnd: loadavg() },
  };
}
