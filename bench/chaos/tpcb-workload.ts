/**
 * CHAOS_WORKLOAD=tpcb: pgbench's TPC-B (bench/lib/tpcb.ts) runs beside the numbered writers in every
 * round. It shows in the tables as the writer "TPC-B": its outage is the longest client stall from
 * the fault to the end of the round, its acks the committed transactions; a balance invariant that
 * does not hold after the round is a violation.
 */
import type { BenchCluster } from '../lib/cluster';
import { etcdPrimaries } from '../lib/etcd';
import { checkInvariant, stalls, Tpcb, type TpcbRun } from '../lib/tpcb';
import { errorMessage } from '../lib/util';

export const TPCB_WRITER = 'TPC-B';

/** The TPC-B tables, once per chaos run, when CHAOS_WORKLOAD asks for them. */
export async function tpcbWorkload(
  cluster: BenchCluster,
  outDir: string,
  env: NodeJS.ProcessEnv,
): Promise<Tpcb | undefined> {
  const w = env.CHAOS_WORKLOAD ?? '';
  if (w === '') return undefined;
  if (w !== 'tpcb') throw new Error(`CHAOS_WORKLOAD must be tpcb (or unset): ${w}`);
  const n = (v: string | undefined, d: number) => (v ? Number(v) : d);
  const tpcb = new Tpcb(cluster, outDir, {
    scale: n(env.TPCB_SCALE, 4),
    clients: n(env.TPCB_CLIENTS, 8),
    chunkSeconds: n(env.TPCB_CHUNK_S, 5),
    shardCount: n(env.TPCB_SHARDS, 8),
    image: env.TPCB_IMAGE ?? 'citusctl/postgres:17',
  });
  await tpcb.init((await etcdPrimaries(cluster)).coordinator ?? 'coord-a');
  return tpcb;
}

export interface TpcbFigures {
  stallMs: number;
  commits: number;
  violations: string[];
  line: string;
}

/** Stops the round's clients and reads what they saw; checks the balance invariant. */
export async function tpcbFigures(
  cluster: BenchCluster,
  run: TpcbRun,
  tFault: number | undefined,
  tEnd: number,
): Promise<TpcbFigures> {
  const log = await run.stop();
  const st = tFault !== undefined ? stalls(log, tFault, tEnd) : [];
  const coordinator =
    (await etcdPrimaries(cluster).catch(() => ({}) as Record<string, string | undefined>)).coordinator ?? 'coord-a';
  const workers = cluster.spec.workers.flatMap((g) => cluster.members(g).map((m) => m.name));
  const inv = await checkInvariant(cluster, coordinator, workers).catch((err: unknown) => ({
    holds: false,
    waitedMs: 0,
    error: errorMessage(err),
    balances: undefined,
  }));
  const commits = log.clients.reduce((a, c) => a + c.commits.length, 0);
  const violations = inv.holds
    ? []
    : [`TPC-B balance invariant violated: ${JSON.stringify(inv.balances ?? inv.error)}`];
  const line =
    `TPC-B: ${commits} transactions, longest client stall ${Math.round(st[0]?.ms ?? 0)} ms ` +
    `(${st[0]?.client ?? '-'}), invariant ` +
    `${inv.holds ? `holds${inv.waitedMs > 1000 ? ` after ${Math.round(inv.waitedMs)} ms` : ''}` : 'VIOLATED'}`;
  return { stallMs: st[0]?.ms ?? 0, commits, violations, line };
}
