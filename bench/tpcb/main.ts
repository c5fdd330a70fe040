/**
 * bench/tpcb: pgbench's TPC-B through PgBouncer across automatic failovers. `citusctl up` (monitor
 * and supervised worker), the TPC-B tables distributed on different keys (bench/lib/tpcb.ts), then
 * per round a `docker kill` of the group's primary under the clients; the monitor repairs. Per
 * round: the longest client stall, transactions left in doubt on the surviving members, the
 * failover's outcome and window, and the balance invariant. Benchmark only: no test asserts on
 * these numbers. Run through bench/tpcb/run.sh.
 *
 * env: ROUNDS (10), GROUP (g1), TPCB_SCALE (4), TPCB_CLIENTS (8), TPCB_CHUNK_S (5), TPCB_SHARDS (8),
 *      TPCB_IMAGE (citusctl/postgres:17: pgbench), WARMUP_MS (5000), SETTLE_MS (5000),
 *      SPEC (bench/tpcb/cluster.tpcb.yaml), BENCH_OUT, CITUSCTL_STATE_DIR, SKIP_UP=1 / KEEP_UP=1.
 */
import { Client, Connection } from '@temporalio/client';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, runBench } from '../lib/bench-main';
import type { BenchCluster } from '../lib/cluster';
import type { CliOptions } from '../lib/cli';
import { etcdPrimaries } from '../lib/etcd';
import { citusUnderTest, countFromEnv, machineLine, upOnCleanStart } from '../lib/start';
import { Tpcb } from '../lib/tpcb';
import { errorMessage, loadavg, Log, max, median, ms, secs } from '../lib/util';
import { tpcbRound, type TpcbRound } from './round';

const env = process.env;
const count = countFromEnv;
const STALL_TARGET_MS = 5000;

function roundLine(r: TpcbRound): string {
  const top = r.stalls[0];
  const stall = top
    ? `${secs(top.ms)}${top.open ? '+' : ''} s (${top.client}; median client ` +
      `${secs(median(r.stalls.map((s) => s.ms)))} s)`
    : 'n/a';
  const d = r.inDoubt;
  const doubt = d.gids.length
    ? `${d.gids.length} (${d.beforeFault} prepared before the fault; on ${d.members.join(', ')}; longest ` +
      `${secs(d.longestMs)} s, last seen ${secs(d.lastSeenMs)} s after the fault)`
    : '0';
  const inv = r.invariant.holds
    ? `holds${r.invariant.waitedMs > 1000 ? ` after ${secs(r.invariant.waitedMs)} s` : ''}`
    : `VIOLATED ${JSON.stringify(r.invariant.balances ?? r.invariant.error)}`;
  return (
    `round ${String(r.round).padStart(2)} ${r.from.padEnd(6)}-> ${(r.to ?? '?').padEnd(6)} longest stall ` +
    `${stall} | failover window ${ms(r.outageWindowMs)} ms, etcd ` +
    `${ms(r.parts['fault -> etcd names the new primary'])} ms after the fault | in doubt ${doubt} | invariant ` +
    `${inv} | ${r.commits} tx, ${r.aborts} aborted runs | load ` +
    `${r.load}${r.ok ? '' : `  FAILED: ${String(r.error)}`}` +
    (r.stepTimes ? `\n         steps (s after the fault): ${r.stepTimes}` : '')
  );
}

async function main(log: Log, cli: CliOptions, cluster: BenchCluster, outDir: string): Promise<number> {
  const rounds = count(process.argv[2] ?? env.ROUNDS, 10);
  const group = env.GROUP ?? 'g1';
  const opts = {
    scale: count(env.TPCB_SCALE, 4),
    clients: count(env.TPCB_CLIENTS, 8),
    chunkSeconds: count(env.TPCB_CHUNK_S, 5),
    shardCount: count(env.TPCB_SHARDS, 8),
    image: env.TPCB_IMAGE ?? 'citusctl/postgres:17',
  };
  log.line(
    `bench/tpcb: ${rounds} kills of ${group}'s primary under pgbench TPC-B (scale ${opts.scale}, ` +
      `${opts.clients} clients through PgBouncer, ${opts.shardCount} shards per table); the monitor repairs; ` +
      `spec ${path.relative(ROOT, cluster.specFile)}; results in ${outDir}`,
  );
  log.line(machineLine(`, pgbench from ${opts.image}`));
  await upOnCleanStart(cli);
  const coordinator = (await etcdPrimaries(cluster)).coordinator ?? 'coord-a';
  const { version: citus, isDouble } = await citusUnderTest(cluster, coordinator);
  const doubleNote = '  (TEST DOUBLE: no query routing, no two-phase commit: these figures say nothing about Citus)';
  log.line(`citus_version(): ${citus}${isDouble ? doubleNote : ''}`);
  const tpcb = new Tpcb(cluster, outDir, opts);
  const connection = await Connection.connect({ address: `127.0.0.1:${env.CITUSCTL_TEMPORAL_PORT ?? '7233'}` });
  const results: TpcbRound[] = [];
  try {
    await tpcb.init(coordinator);
    log.line(
      'TPC-B tables distributed: accounts by aid, branches by bid, tellers by tid, history by aid; stall = a ' +
        `client's longest time without a committed transaction from the fault to the end of the round`,
    );
    const ctx = {
      cluster,
      tpcb,
      temporal: new Client({ connection }),
      group,
      warmupMs: count(env.WARMUP_MS, 5000),
      settleMs: count(env.SETTLE_MS, 5000),
    };
    for (let i = 1; i <= rounds; i++) {
      const r = await tpcbRound(ctx, i).catch((err: unknown): TpcbRound => ({
        round: i,
        from: '?',
        ok: false,
        error: errorMessage(err),
        stalls: [],
        commits: 0,
        aborts: 0,
        errors: {},
        inDoubt: { gids: [], beforeFault: 0, members: [] },
        invariant: { holds: false, waitedMs: 0 },
        parts: {},
        load: loadavg(),
      }));
      results.push(r);
      fs.writeFileSync(path.join(outDir, 'rounds.json'), JSON.stringify(results, null, 2));
      log.line(roundLine(r));
      if (!r.ok && r.from === '?') break;
    }
  } finally {
    tpcb.cleanup();
    await connection.close();
  }
  log.line('');
  const ok = results.filter((r) => r.ok);
  const longest = results.map((r) => r.stalls[0]?.ms);
  const met = results.length === rounds && results.every((r) => (r.stalls[0]?.ms ?? Infinity) <= STALL_TARGET_MS);
  log.line(
    `summary (${isDouble ? 'Citus TEST DOUBLE' : 'real Citus'}; durability ${cluster.spec.durability}; loadavg ` +
      `${loadavg()} at the end)`,
  );
  log.line(`  rounds failed over by the monitor with the invariant holding: ${ok.length}/${rounds}`);
  log.line(
    `  longest client stall per round: median ${secs(median(longest))} s, max ${secs(max(longest))} s   target ` +
      `<= ${STALL_TARGET_MS / 1000} s in every round: ${met ? 'met' : 'NOT met'}`,
  );
  const waited = results.some((r) => r.invariant.waitedMs > 1000)
    ? ' (some only after waiting for Citus to resolve prepared transactions)'
    : '';
  log.line(
    `  balance invariant: held in ${results.filter((r) => r.invariant.holds).length}/${results.length} ` +
      `rounds${waited}`,
  );
  const doubtRounds = results.filter((r) => r.inDoubt.gids.length);
  log.line(
    `  transactions in doubt (prepared > 1 s on a surviving member): in ${doubtRounds.length} rounds, ` +
      `${doubtRounds.reduce((a, r) => a + r.inDoubt.gids.length, 0)} in all ` +
      `(${doubtRounds.reduce((a, r) => a + r.inDoubt.beforeFault, 0)} prepared before the fault); longest ` +
      `${secs(max(doubtRounds.map((r) => r.inDoubt.longestMs)))} s, last seen at most ` +
      `${secs(max(doubtRounds.map((r) => r.inDoubt.lastSeenMs)))} s after the fault`,
  );
  for (const part of [
    'fault -> monitor starts failover',
    'fault -> etcd names the new primary',
    'fault -> failover workflow closed',
  ]) {
    const xs = ok.map((r) => r.parts[part]);
    log.line(`  ${part.padEnd(40)} median ${ms(median(xs)).padStart(6)}  max ${ms(max(xs)).padStart(6)} ms`);
  }
  const errors: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
  const top = Object.entries(errors)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5);
  if (top.length) log.line(`  client errors (most frequent): ${top.map(([k, v]) => `${v}x ${k}`).join(' | ')}`);
  log.line(`reproduce: CITUSCTL_IMAGE_POSTGRES=${env.CITUSCTL_IMAGE_POSTGRES ?? ''} bash bench/tpcb/run.sh ${rounds}`);
  return ok.length === rounds && met ? 0 : 1;
}

runBench({ name: 'tpcb', spec: 'bench/tpcb/cluster.tpcb.yaml', defaultStateDir: '/tmp/citusctl-bench-tpcb', main });
