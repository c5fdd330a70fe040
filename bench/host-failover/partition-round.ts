/**
 * A partition round of bench/host-failover (FAULT=partition): the host holding g1's primary is cut
 * off the hosts network (`docker network disconnect`: support/sim-hosts.ts partitionHost) under the
 * numbered writers. Its worker runs on it (HostFleet's workers on their hosts), so it loses etcd,
 * Temporal and its peers, and its self-fence stops the isolated primaries; the monitor fails g1 over,
 * and any other group whose primary the host holds (round.ts measures it). With ISOLATED_WRITER on, a
 * writer on the cut host itself (psql in g1's primary over its local socket: support/isolated-writer.ts)
 * writes a plain table of the round: every row it got acknowledged must be on g1's new primary (none
 * acknowledged by the isolated primary alone). Once the writers have written on SETTLE_MS after the new
 * primaries, the host is plugged back (healHost): from just before, every group must have exactly one
 * writable member at every poll, for WATCH_MS and until the old primary streams from the new one.
 */
import type { HostsCluster } from '../lib/hosts-cluster';
import { isolatedWriters, type IsolatedWriter } from '../lib/test-support';
import { now, sleep } from '../lib/util';
import { watchWritable } from '../lib/writable-watch';
import { faultUnderWriters, GROUP, hostRoundOf, PART, rejoined, roundTargets, writeFigures } from './round';
import type { HostRound, HostRoundContext, Rejoin, RoundTargets } from './round';

const WATCH_MS = 10_000;

export interface PartitionContext extends HostRoundContext {
  /** Run the writer on the cut host itself. */
  isolated: boolean;
}

interface Isolated {
  writer: IsolatedWriter;
  table: string;
  /** When its loop ended on its own (its member's container stopped), epoch ms. */
  endedAt?: number;
}

/** A plain table of the round on g1's primary, and a writer into it on that primary's host. */
async function startIsolated(cluster: HostsCluster, t: RoundTargets, i: number): Promise<Isolated> {
  const table = `bench_hf_isolated_${i}`;
  await cluster.withClient(cluster.superuser(t.victim, { query_timeout: 60_000 }), (c) =>
    c.query(`CREATE TABLE IF NOT EXISTS ${table} (id bigint PRIMARY KEY)`),
  );
  const writer = isolatedWriters.isolatedWriter(cluster.simHost(t.host).name, cluster.containerOf(t.victim), table);
  const iso: Isolated = { writer, table };
  void writer.ended.then(() => (iso.endedAt ??= now()));
  for (const end = now() + 30_000; !writer.acked.length && now() < end && !iso.endedAt;) await sleep(100);
  return iso;
}

/** What the isolated writer got acknowledged, and how many of those rows g1's new primary lacks. */
async function isolatedFigures(
  cluster: HostsCluster,
  iso: Isolated,
  tCut: number,
  newPrimary: string | undefined,
): Promise<{ figures: NonNullable<HostRound['isolated']>; problems: string[] }> {
  const endedOnItsOwn = iso.endedAt;
  await iso.writer.stop();
  const problems: string[] = [];
  const afterCut = iso.writer.ackedAt.filter((x) => x > tCut);
  const onNew = newPrimary
    ? await cluster
        .withClient(cluster.superuser(newPrimary, { query_timeout: 60_000 }), async (c) =>
          (await c.query<{ id: string }>(`SELECT id FROM ${iso.table}`)).rows.map((r) => Number(r.id)),
        )
        .catch((err: unknown) => void problems.push(`the isolated rows on ${newPrimary}: ${String(err)}`))
    : undefined;
  const present = new Set(onNew ?? []);
  const missing = onNew ? iso.writer.acked.filter((id) => !present.has(id)) : [];
  if (!iso.writer.acked.length)
    problems.push(`the isolated writer had no row acknowledged: ${iso.writer.other.slice(-2).join(' / ')}`);
  if (missing.length)
    problems.push(
      `THE ISOLATED PRIMARY ACKNOWLEDGED ${missing.length} ROWS ${String(newPrimary)} LACKS ` +
        `(${missing.slice(0, 10).join(', ')})`,
    );
  return {
    figures: {
      acked: iso.writer.acked.length,
      afterCut: afterCut.length,
      lastAfterCutMs: afterCut.length ? Math.max(...afterCut) - tCut : undefined,
      endedMs: endedOnItsOwn !== undefined ? endedOnItsOwn - tCut : undefined,
      missing: missing.length,
      end: iso.writer.other.slice(-2).join(' / '),
    },
    problems,
  };
}

export async function partitionRound(ctx: PartitionContext, i: number): Promise<HostRound> {
  const { cluster, fleet } = ctx;
  const t = await roundTargets(cluster);
  const iso = ctx.isolated ? await startIsolated(cluster, t, i) : undefined;
  try {
    const f = await faultUnderWriters(ctx, t, () => fleet.partition(t.host), ctx.settleMs);
    const w = await writeFigures(ctx, i, t, f);
    const newPrimary = f.moved[GROUP]?.to;
    const isolated = iso ? await isolatedFigures(cluster, iso, f.tFault, newPrimary) : undefined;
    // The cable back: from just before, exactly one writable member per group at every poll.
    const tHeal = now();
    const watch = watchWritable(cluster, tHeal);
    let back: Rejoin = { problems: [] };
    let writable: { polls: number; violations: string[] } | undefined;
    try {
      await fleet.heal(t.host);
      back = await rejoined(cluster, t.victim, newPrimary);
      await sleep(Math.max(0, tHeal + WATCH_MS - now()));
    } finally {
      writable = await watch.stop();
    }
    const fenceLines = (fleet.fenceLines[t.host] ?? []).filter((l) => l.t >= f.tFault);
    const fencedAt = fenceLines.find((l) => l.line.includes(`self-fence: stopped primary ${t.victim} `))?.t;
    const problems = [...(isolated?.problems ?? []), ...back.problems];
    if (writable.violations.length)
      problems.push(
        `NOT EXACTLY ONE WRITABLE MEMBER PER GROUP after the heal (${writable.violations.length} times in ` +
          `${writable.polls} polls): ${writable.violations.slice(0, 4).join('; ')}`,
      );
    const sinceHeal = (x: number | undefined) => (x !== undefined ? x - tHeal : undefined);
    return hostRoundOf(ctx, i, t, f, w, {
      fault: 'cut',
      oldPrimaryInRecovery: back.inRecovery,
      selfFence: fenceLines
        .slice(0, 8)
        .map((l) => `+${Math.round(l.t - f.tFault)} ms ${l.line.replace(/^citusctl worker --host \S+: /, '')}`),
      writable,
      isolated: isolated?.figures,
      parts: {
        [PART.selfFence]: fencedAt !== undefined ? fencedAt - f.tFault : undefined,
        [PART.healStreams]: sinceHeal(back.streamingAt),
        [PART.healHealthy]: sinceHeal(back.healthyAt),
      },
      problems,
    });
  } finally {
    await iso?.writer.stop();
  }
}
