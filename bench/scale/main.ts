/**
 * bench/scale: scale-out and drain under a numbered writer. Benchmark only: no test asserts on
 * these numbers. Run through bench/scale/run.sh (env, specs, build).
 *
 *   node dist/bench/scale/main.js
 *
 * 1. `citusctl up` on SPEC (2 worker groups, the demo rows): not timed.
 * 2. The numbered writer through PgBouncer (ids over every shard), then `citusctl up` on SPEC_G3
 *    (SPEC plus one worker group): provisions the group and rebalances shards onto it.
 * 3. A new writer, then `citusctl drain <group>` on SPEC_G3: moves every shard off and removes it.
 * Each step: wall time, the workflow's `moves` step, moves, bytes, MB/s, rows moved/s, the longest
 * write gap and the longest single INSERT while the CLI ran, failed tries, acknowledged writes lost,
 * and the row counts before and after (demo rows equal, bench rows grown by the acks).
 *
 * env: SPEC (bench/scale/cluster.scale.yaml), SPEC_G3 (bench/scale/cluster.scale-g3.yaml),
 *      WRITE_INTERVAL_MS (10), SETTLE_MS (3000), LEFTOVER_WAIT_MS (10000: after the drain, time
 *      for a monitor to wrongly re-create the group), BENCH_OUT, CITUSCTL_STATE_DIR, SKIP_UP=1, KEEP_UP=1.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, runBench } from '../lib/bench-main';
import { BenchCluster } from '../lib/cluster';
import { runCli, type CliOptions } from '../lib/cli';
import { citusUnderTest, countFromEnv } from '../lib/start';
import { groupProblems, observeGroup, waitGroupHealthy } from '../lib/health';
import { PgBouncerTarget } from '../lib/targets';
import { cpuCount, loadavg, Log, ms, sleep } from '../lib/util';
import { SequentialIds } from '../lib/writer';
import { groupShares, leftovers, rowCounts, type GroupShare, type RowCounts } from './citus-view';
import { drainFigures, reportStep, scaleOutFigures, type Snapshot } from './report';
import { runStep } from './step';

const env = process.env;

const count = countFromEnv;

/** The one worker group SPEC_G3 adds; everything else must be the same cluster. */
function addedGroup(base: BenchCluster, big: BenchCluster): string {
  const added = big.spec.workers.filter((g) => !base.spec.workers.includes(g));
  const same =
    big.name === base.name &&
    base.spec.members.every((m) =>
      big.spec.members.some((x) => x.name === m.name && x.group === m.group && x.port === m.port),
    );
  if (added.length !== 1 || !added[0] || !same)
    throw new Error(
      `${big.specFile} must be ${base.specFile} plus exactly one worker group (adds: ${added.join(', ') || 'none'})`,
    );
  return added[0];
}

async function snapshot(cluster: BenchCluster): Promise<Snapshot> {
  const counts: RowCounts = await rowCounts(cluster);
  const shares: GroupShare[] = await groupShares(cluster);
  return { counts, shares, load: loadavg() };
}

async function main(log: Log, cli: CliOptions, cluster: BenchCluster, outDir: string): Promise<number> {
  const specG3 = path.resolve(env.SPEC_G3 ?? path.join(ROOT, 'bench/scale/cluster.scale-g3.yaml'));
  const big = new BenchCluster(specG3, cluster.stateDir, cluster.appName);
  const group = addedGroup(cluster, big);
  const cliG3: CliOptions = { ...cli, spec: specG3 };
  const intervalMs = count(env.WRITE_INTERVAL_MS, 10);
  const settleMs = count(env.SETTLE_MS, 3000);
  const rows = cluster.spec.demo.rows;
  log.line(
    `bench/scale: scale out onto ${group} (citusctl up) and drain it (citusctl drain ${group}) under a ` +
      `numbered writer; ${rows} demo rows, ${cluster.spec.demo.shardCount} shards; results in ${outDir}`,
  );
  const shown = (f: string) => (f.startsWith(ROOT + path.sep) ? path.relative(ROOT, f) : f);
  log.line(`specs: ${shown(cluster.specFile)} -> ${shown(specG3)}`);
  log.line(`machine: ${cpuCount()} CPUs, loadavg ${loadavg()} at start (shared machine: other runs may load it)`);
  log.line(
    `images: postgres=${env.CITUSCTL_IMAGE_POSTGRES ?? '(spec/default)'} ` +
      `pgbouncer=${env.CITUSCTL_IMAGE_PGBOUNCER ?? '(spec/default)'} ` +
      `etcd=${env.CITUSCTL_IMAGE_ETCD ?? '(spec/default)'}`,
  );

  if (env.SKIP_UP !== '1') {
    await runCli(cliG3, ['down', '--volumes'], 'down-before'); // a clean start (the g3 spec names every member)
    const up = await runCli({ ...cli, timeoutMs: 30 * 60_000 }, ['up'], 'up');
    if (!up.doc.ok) throw new Error(`citusctl up failed: ${String(up.doc.error)}`);
    log.line(
      `citusctl up, ${cluster.spec.workers.length} worker groups (not timed): ${ms(up.tExit - up.tSpawn)} ms, ` +
        `${String(up.doc.result?.demoRowsInserted)} rows loaded; the monitor runs (default up)`,
    );
  }
  const { version: citus, isDouble } = await citusUnderTest(cluster);
  log.line(`citus_version(): ${citus}`);
  if (isDouble)
    log.line('NOTE: Citus TEST DOUBLE: it routes and moves nothing for real; these are not real-Citus numbers.');
  for (const g of cluster.groups()) await waitGroupHealthy(cluster, g);

  const pgb = new PgBouncerTarget(cluster, '(consecutive ids: every shard, moving ones included)');
  const ids = new SequentialIds(await pgb.firstId());
  log.line(
    `writer: ${pgb.label}; one INSERT per ${intervalMs} ms (+ its latency), ${settleMs} ms before and after ` +
      'each command; a failed row is retried (same id, new connection) until it succeeds',
  );
  const step = { target: pgb, ids, intervalMs, settleMs, cluster: big };

  const before = await snapshot(cluster);
  log.line('');
  const up = await runStep({ ...step, cli: cliG3, args: ['up'], tag: 'scale-out' });
  const streaming = await observeGroup(big, group);
  let streamingAfterMs: number | undefined;
  if (groupProblems(streaming).length) {
    const t0 = Date.now();
    await waitGroupHealthy(big, group, 120_000).then(
      () => (streamingAfterMs = Date.now() - t0),
      () => undefined,
    );
  }
  const afterUp = await snapshot(big);
  const out = scaleOutFigures(up, before, afterUp, group, rows, streaming, streamingAfterMs);
  reportStep(log, out);

  let drain: ReturnType<typeof drainFigures> | undefined;
  if (up.cli.doc.ok) {
    const g3Id = afterUp.shares.find((s) => s.group === group)?.groupId;
    log.line('');
    const d = await runStep({ ...step, cli: cliG3, args: ['drain', group], tag: 'drain' });
    await sleep(count(env.LEFTOVER_WAIT_MS, 10_000));
    const left = await leftovers(big, group, g3Id);
    const afterDrain = await snapshot(cluster);
    drain = drainFigures(d, afterUp, afterDrain, group, rows, left);
    reportStep(log, drain);
  }

  const results = {
    bench: 'scale',
    citus,
    isDouble,
    rows,
    shardCount: cluster.spec.demo.shardCount,
    durability: cluster.spec.durability,
    cpus: cpuCount(),
    loadAtEnd: loadavg(),
    writeIntervalMs: intervalMs,
    scaleOut: out,
    drain,
  };
  fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(results, null, 2));
  log.line('');
  log.line(
    `loadavg ${loadavg()} at the end; ${isDouble ? 'Citus TEST DOUBLE' : 'real Citus'}; durability ` +
      `${cluster.spec.durability}`,
  );
  log.line(
    `results: ${path.join(outDir, 'results.json')}; CLI documents: scale-out.json, drain.json (progress on .err)`,
  );
  log.line(
    `reproduce: CITUSCTL_IMAGE_POSTGRES=${env.CITUSCTL_IMAGE_POSTGRES ?? ''} ` +
      `${env.SCALE_ROWS ? `SCALE_ROWS=${env.SCALE_ROWS} ` : ''}bash bench/scale/run.sh`,
  );
  return out.ok && drain?.ok ? 0 : 1;
}

runBench({ name: 'scale', spec: 'bench/scale/cluster.scale.yaml', defaultStateDir: '/tmp/citusctl-bench-scale', main });
