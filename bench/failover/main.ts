/**
 * bench/failover: client write outage and lost acknowledged writes across an unplanned worker
 * failover, a worker switchover and a coordinator switchover, measured by numbered writers.
 * Benchmark only: no test asserts on these numbers. Run through bench/failover/run.sh (env, build).
 *
 *   node dist/bench/failover/main.js [ROUNDS]
 *
 * env: ROUNDS (10), SWITCHOVER_ROUNDS (= ROUNDS), COORDINATOR_ROUNDS (= ROUNDS), GROUP (g1),
 *      SPEC (bench/failover/cluster.benchfo.yaml), WRITE_INTERVAL_MS (10), SETTLE_MS (3000),
 *      BENCH_OUT (results dir), CITUSCTL_STATE_DIR, SKIP_UP=1 / KEEP_UP=1.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, runBench } from '../lib/bench-main';
import type { BenchCluster } from '../lib/cluster';
import { runCli, type CliOptions } from '../lib/cli';
import { citusUnderTest, countFromEnv } from '../lib/start';
import { cpuCount, errorMessage, loadavg, Log, ms } from '../lib/util';
import { roundLine, summary } from './report';
import {
  coordinatorSwitchoverRound,
  failoverRound,
  switchoverRound,
  type RoundResult,
  type ScenarioContext,
} from './scenarios';
import { WriterFactory } from './writers';

const env = process.env;

const count = countFromEnv;

async function main(log: Log, cli: CliOptions, cluster: BenchCluster, outDir: string): Promise<number> {
  const rounds = count(process.argv[2] ?? env.ROUNDS, 10);
  const plan: [string, number, (ctx: ScenarioContext, i: number) => Promise<RoundResult>][] = [
    ['failover', rounds, failoverRound],
    ['switchover', count(env.SWITCHOVER_ROUNDS, rounds), switchoverRound],
    ['coordinator switchover', count(env.COORDINATOR_ROUNDS, rounds), coordinatorSwitchoverRound],
  ];
  const group = env.GROUP ?? 'g1';
  const intervalMs = count(env.WRITE_INTERVAL_MS, 10);
  const settleMs = count(env.SETTLE_MS, 3000);
  log.line(
    `bench/failover: ${plan.map(([n, k]) => `${k} ${n}`).join(' + ')} rounds, group ${group}, spec ` +
      `${path.relative(ROOT, cluster.specFile)}, results in ${outDir}`,
  );
  log.line(`machine: ${cpuCount()} CPUs, loadavg ${loadavg()} at start (shared machine: other runs may load it)`);
  log.line(
    `images: postgres=${env.CITUSCTL_IMAGE_POSTGRES ?? '(spec/default)'} ` +
      `pgbouncer=${env.CITUSCTL_IMAGE_PGBOUNCER ?? '(spec/default)'} ` +
      `etcd=${env.CITUSCTL_IMAGE_ETCD ?? '(spec/default)'}`,
  );

  if (env.SKIP_UP !== '1') {
    await runCli(cli, ['down', '--volumes'], 'down-before'); // a clean start: the cluster name is the bench's own
    const up = await runCli(cli, ['up'], 'up');
    if (!up.doc.ok) throw new Error(`citusctl up failed: ${String(up.doc.error)}`);
    log.line(`citusctl up (not timed) took ${ms(up.tExit - up.tSpawn)} ms`);
    // up started the supervised worker (the commands below run on it) and the monitor, which the
    // spec (failover: manual) and maintenance keep from acting: this bench measures the commands.
    const paused = await runCli(cli, ['pause', '--reason', 'bench/failover measures the commands'], 'pause');
    if (!paused.doc.ok) throw new Error(`citusctl pause failed: ${String(paused.doc.error)}`);
  }
  const { version: citus, isDouble } = await citusUnderTest(cluster);
  log.line(`citus_version(): ${citus}`);
  if (isDouble)
    log.line(
      "NOTE: Citus TEST DOUBLE (no query routing): the PgBouncer writer's rows stay on the coordinator, so " +
        "for worker faults the DIRECT writer's figures are the ones that see the fault; both are printed, " +
        'labelled.',
    );
  const writers = await WriterFactory.create(cluster, group, isDouble, intervalMs);
  log.line(
    `writer: one connection each, one INSERT per ${intervalMs} ms (+ its latency), ${settleMs} ms of writes ` +
      'before each fault; a failed row is retried (same id, new connection) until it succeeds',
  );
  const ctx: ScenarioContext = { cluster, cli, group, writers, intervalMs, settleMs, outDir };

  const results: RoundResult[] = [];
  log.line('');
  log.line(
    'per round: outage = first ack after the fault - last ack before it; gap = longest time without an ack ' +
      'while the CLI ran',
  );
  for (const [name, n, round] of plan) {
    for (let i = 1; i <= n; i++) {
      const r = await round(ctx, i).catch((err: unknown): RoundResult => ({
        kind: name === 'failover' ? 'failover' : name === 'switchover' ? 'switchover' : 'coordinator-switchover',
        round: i,
        ok: false,
        error: errorMessage(err),
        from: '?',
        writers: [],
        parts: {},
        load: loadavg(),
      }));
      results.push(r);
      fs.writeFileSync(path.join(outDir, 'rounds.json'), JSON.stringify(results, null, 2));
      log.line(roundLine(r));
      for (const w of r.writers)
        if (w.lost)
          log.line(
            `    ${w.key}: missing acknowledged ids (first 20): ${w.missing.join(', ')} (read back from ${w.readFrom})`,
          );
      if (!r.ok) {
        log.line(
          `  ${name}: a round failed; the remaining ${name} rounds are skipped (see ` +
            `${name.replace(' ', '-')}${i}.json/.err)`,
        );
        break;
      }
    }
  }
  log.line('');
  log.line(
    `summary (durability ${cluster.spec.durability}; ${isDouble ? 'Citus TEST DOUBLE' : 'real Citus'}; loadavg ` +
      `${loadavg()} at the end)`,
  );
  summary(log, results, writers.labels(), isDouble);
  log.line('');
  log.line(
    `reproduce: bash bench/failover/run.sh ${rounds}   (CITUSCTL_IMAGE_POSTGRES=${env.CITUSCTL_IMAGE_POSTGRES ?? ''})`,
  );
  log.line(`per-round data: ${path.join(outDir, 'rounds.json')}`);
  const lost = results.some((r) => r.writers.some((w) => w.lost));
  return results.some((r) => !r.ok) || lost ? 1 : 0;
}

runBench({
  name: 'failover',
  spec: 'bench/failover/cluster.benchfo.yaml',
  defaultStateDir: path.join(process.env.HOME ?? '/root', '.local/state/citusctl'),
  main,
});
