/**
 * bench/chaos: under numbered writers, one random fault per round, the product's repair through
 * its CLI, and the invariants. Run through bench/chaos/run.sh (env, build, Temporal).
 *
 *   node dist/bench/chaos/main.js [ROUNDS]        # default 20
 *
 * env: CHAOS_SEED (random; printed, so a run can be repeated), CHAOS_FAULTS (comma list to draw
 *      from; default all kinds), SPEC (bench/chaos/cluster.chaos.yaml), WRITE_INTERVAL_MS (20),
 *      BENCH_OUT (results dir), CITUSCTL_STATE_DIR, KEEP_UP=1; CHAOS_WORKLOAD=tpcb adds pgbench TPC-B
 *      clients through PgBouncer (bench/lib/tpcb.ts; TPCB_* as in bench/tpcb/main.ts) with its balance invariant.
 */
import { Client, Connection } from '@temporalio/client';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, runBench } from '../lib/bench-main';
import type { BenchCluster } from '../lib/cluster';
import { runCli, type CliOptions } from '../lib/cli';
import { citusUnderTest, machineLine } from '../lib/start';
import { DirectTarget, PgBouncerTarget } from '../lib/targets';
import { loadavg, Log, ms } from '../lib/util';
import { SequentialIds } from '../lib/writer';
import { FAULT_KINDS, type FaultKind } from './faults';
import { kindTable, roundLine, type ChaosRound } from './report';
import { repair } from './repair';
import { Rng } from './rng';
import { chaosRound, type ChaosWriter } from './round';
import { RoundContext, type RepairMode } from './round-context';
import { tpcbWorkload, TPCB_WRITER } from './tpcb-workload';

const env = process.env;

/** CHAOS_REPAIR=monitor: the monitor repairs alone, a removed container included (it re-creates it on its volume). */
function repairMode(): RepairMode {
  const m = env.CHAOS_REPAIR ?? 'commands';
  if (m !== 'commands' && m !== 'monitor') throw new Error(`CHAOS_REPAIR must be commands or monitor: ${m}`);
  return m;
}

function faultKinds(): FaultKind[] {
  if (!env.CHAOS_FAULTS) return [...FAULT_KINDS];
  const kinds = env.CHAOS_FAULTS.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = kinds.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k));
  if (bad.length) throw new Error(`CHAOS_FAULTS: unknown kind(s) ${bad.join(', ')}; known: ${FAULT_KINDS.join(', ')}`);
  return kinds as FaultKind[];
}

async function writersFor(cluster: BenchCluster, isDouble: boolean): Promise<ChaosWriter[]> {
  const pgb = new PgBouncerTarget(
    cluster,
    isDouble ? '(test double: the rows stay on the coordinator)' : '(ids over every shard)',
  );
  const out: ChaosWriter[] = [{ name: 'PgBouncer', target: pgb, ids: new SequentialIds(await pgb.firstId()) }];
  if (isDouble) {
    for (const g of cluster.spec.workers) {
      const t = new DirectTarget(cluster, g);
      out.push({ name: `direct ${g}`, target: t, ids: new SequentialIds(await t.prepare()) });
    }
  }
  return out;
}

async function main(log: Log, cli: CliOptions, cluster: BenchCluster, outDir: string): Promise<number> {
  const tStart = Date.now();
  const rounds = Number(process.argv[2] ?? env.ROUNDS ?? 20);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`not a round count: ${String(process.argv[2])}`);
  const seed = env.CHAOS_SEED ? Number(env.CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31);
  if (!Number.isInteger(seed)) throw new Error(`CHAOS_SEED must be an integer: ${String(env.CHAOS_SEED)}`);
  const mode = repairMode();
  const kinds = faultKinds();
  // the kinds alone, so a seed's sequence of kinds does not depend on the cluster's state
  const kindRng = new Rng(seed);
  const rng = new Rng(seed ^ 0x5bd1e995);
  const intervalMs = Number(env.WRITE_INTERVAL_MS ?? 20);
  log.line(
    `bench/chaos: ${rounds} rounds, repairs by ${mode === 'monitor' ? 'the monitor alone' : 'command'}, ` +
      `CHAOS_SEED=${seed}, faults drawn from ${kinds.join(', ')}; spec ${path.relative(ROOT, cluster.specFile)}; ` +
      `results in ${outDir}`,
  );
  log.line(machineLine());

  await runCli(cli, ['down', '--volumes'], 'down-before'); // a clean start: this cluster name is the chaos run's own
  // Repairs by command (each with its own in-process worker, which kill-orchestrator kills): no
  // monitor. Repairs by the monitor: up starts it and the supervised worker.
  const up = await runCli(cli, mode === 'monitor' ? ['up'] : ['up', '--no-monitor'], 'up');
  if (!up.doc.ok) throw new Error(`citusctl up failed: ${String(up.doc.error)}`);
  log.line(`citusctl up (not timed) took ${ms(up.tExit - up.tSpawn)} ms`);
  const { version: citus, isDouble } = await citusUnderTest(cluster);
  log.line(`citus_version(): ${citus}`);
  const writers = await writersFor(cluster, isDouble);
  for (const w of writers) log.line(`writer ${w.name}: ${w.target.label}`);
  if (isDouble)
    log.line(
      'NOTE: Citus TEST DOUBLE (no query routing): a worker fault shows in the direct writers, not in the ' +
        'PgBouncer writer.',
    );
  log.line(
    `each writer: one INSERT per ${intervalMs} ms, a failed row retried until it succeeds; outage = longest ` +
      'time without an ack from the fault to the end of the round',
  );
  const tpcb = await tpcbWorkload(cluster, outDir, env);
  if (tpcb)
    log.line(
      `workload ${TPCB_WRITER}: pgbench TPC-B through PgBouncer, ${tpcb.opts.clients} clients, scale ` +
        `${tpcb.opts.scale}; its outage = the longest client stall; its balance invariant checked after every ` +
        'round',
    );
  log.line('');

  const results: ChaosRound[] = [];
  let aborted = '';
  const connection =
    mode === 'monitor'
      ? await Connection.connect({ address: `127.0.0.1:${env.CITUSCTL_TEMPORAL_PORT ?? '7233'}` })
      : undefined;
  const temporal = connection ? new Client({ connection }) : undefined;
  for (let i = 1; i <= rounds; i++) {
    const kind = kindRng.pick(kinds);
    const ctx = new RoundContext(cluster, cli, rng, i, mode, temporal);
    const pre = await repair(ctx, 180_000, ctx.t0);
    if (!pre.repaired) {
      aborted =
        `round ${i}: the cluster is not healthy before the fault (${pre.problems.join('; ')}); ` + `see ${ctx.logFile}`;
      break;
    }
    const r = await chaosRound(ctx, kind, writers, intervalMs, tpcb);
    results.push(r);
    fs.writeFileSync(path.join(outDir, 'rounds.json'), JSON.stringify(results, null, 2));
    log.line(roundLine(r));
    for (const v of r.violations) log.line(`    VIOLATION: ${v}`);
    if (!r.repaired || r.violations.length) log.line(`    round log: ${r.logFile}`);
  }
  await connection?.close();
  tpcb?.cleanup();
  log.line('');
  if (aborted) log.line(`ABORTED: ${aborted}`);
  log.line(
    `per fault kind (${isDouble ? 'Citus TEST DOUBLE' : 'real Citus'}, durability ${cluster.spec.durability}; ` +
      `repair = fault injected -> every group healthy; loadavg ${loadavg()} at the end):`,
  );
  for (const l of kindTable(results, [...writers.map((w) => w.name), ...(tpcb ? [TPCB_WRITER] : [])])) log.line(l);
  const repaired = results.filter((r) => r.repaired).length;
  const violations = results.reduce((a, r) => a + r.violations.length, 0);
  log.line('');
  log.line(
    `chaos: ${results.length} rounds, ${repaired} repaired, ${violations} violations (CHAOS_SEED=${seed}; ` +
      `${Math.round((Date.now() - tStart) / 1000)} s in all)`,
  );
  const faultsEnv = env.CHAOS_FAULTS ? ` CHAOS_FAULTS=${env.CHAOS_FAULTS}` : '';
  log.line(
    `reproduce: ${mode === 'monitor' ? 'CHAOS_REPAIR=monitor ' : ''}CHAOS_SEED=${seed}${faultsEnv}` +
      `${tpcb ? ' CHAOS_WORKLOAD=tpcb' : ''} bash bench/chaos/run.sh ${rounds}`,
  );
  return aborted || repaired < results.length || violations ? 1 : 0;
}

runBench({ name: 'chaos', spec: 'bench/chaos/cluster.chaos.yaml', defaultStateDir: '/tmp/citusctl-bench-chaos', main });
