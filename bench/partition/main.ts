/**
 * bench/partition: a worker primary cut off from the network while its container runs, the
 * monitor alone repairing. `citusctl up` (monitor + supervised worker), then ROUNDS rounds of
 * `docker network disconnect` of GROUP's primary under numbered writers (bench/partition/round.ts),
 * then for each kind in FREEZES three 1 s freezes of the primary that must start no failover.
 * Benchmark only: no test asserts on these numbers. Run through bench/partition/run.sh.
 *
 * env: ROUNDS (10), GROUP (g1), HOLD_MS (3000: the old primary stays cut off this long after the new
 *      one is recorded), FREEZES (pause,sigstop; also: cut), FREEZE_MS (1000), SPEC
 *      (bench/partition/cluster.partition.yaml), WRITE_INTERVAL_MS (10), SETTLE_MS (3000), BENCH_OUT,
 *      CITUSCTL_STATE_DIR, SKIP_UP=1 / KEEP_UP=1.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, runBench } from '../lib/bench-main';
import type { BenchCluster } from '../lib/cluster';
import type { CliOptions } from '../lib/cli';
import { errorMessage, loadavg, Log, max, median, ms, sum } from '../lib/util';
import { countFromEnv, machineLine, statLine, upForMonitorBench } from '../lib/start';
import { WriterFactory } from '../failover/writers';
import {
  FREEZE_KINDS,
  freezeRound,
  partitionRound,
  type FreezeKind,
  type FreezeRound,
  type PartitionContext,
  type PartitionRound,
} from './round';

const env = process.env;
const count = countFromEnv;

function roundLine(r: PartitionRound): string {
  const w = r.writers.find((x) => x.key === 'pgbouncer') ?? r.writers[0];
  const p = r.parts;
  const writable = Object.entries(r.maxWritable)
    .map(([g, n]) => `${g}=${n}`)
    .join(' ');
  return (
    `${String(r.round).padStart(2)} ${r.from.padEnd(5)}-> ${(r.to ?? '?').padEnd(5)} new primary ` +
    `${ms(p['fault -> etcd names the new primary'])} ms | detect ` +
    `${ms(p['detection: fault -> monitor starts failover'])} | outage ${ms(w?.outageMs)} ms, lost ` +
    `${w?.lost ?? '?'}/${w?.acked ?? '?'} | old primary at promotion: ${r.oldPrimaryAtPromotion ?? '?'}, write ` +
    `after reconnect: ${r.writeAfterReconnect ? (r.writeAfterReconnect.accepted ? 'ACCEPTED' : 'refused') : '?'} ` +
    `| max writable ${writable} | streams again ${ms(p['fault -> old primary streams again'])} ms | load ` +
    `${r.load}${r.ok ? '' : `  FAILED: ${String(r.error)}`}\n     monitor: ${r.reason ?? '?'}`
  );
}

function summarize(log: Log, group: string, rs: PartitionRound[]): void {
  const ok = rs.filter((r) => r.ok);
  log.line(
    `worker primary (${group}) cut off the network (docker network disconnect): ${ok.length}/${rs.length} ` +
      'rounds repaired by the monitor alone',
  );
  const stat = statLine(log, 48);
  const toPrimary = rs.map((r) => r.parts['fault -> etcd names the new primary']);
  const m = median(toPrimary);
  const mx = max(toPrimary);
  stat(
    'fault -> etcd names the new primary',
    toPrimary,
    m !== undefined && mx !== undefined
      ? `   target median <= 5000: ${m <= 5000 ? 'met' : 'NOT met'}, max <= 10000: ${mx <= 10_000 ? 'met' : 'NOT met'}`
      : '',
  );
  for (const key of ['pgbouncer', 'direct'] as const) {
    const ws = rs.flatMap((r) => r.writers.filter((w) => w.key === key));
    if (!ws.length) continue;
    stat(
      `client write outage (${key})`,
      ws.map((w) => w.outageMs),
    );
    log.line(
      `  ${`acknowledged writes lost (${key})`.padEnd(48)} total ${sum(ws.map((w) => w.lost))} of ` +
        `${sum(ws.map((w) => w.acked))} acked`,
    );
  }
  log.line(
    `  ${'old primary running when the new one was recorded'.padEnd(48)} ` +
      `${rs.filter((r) => r.oldPrimaryAtPromotion === 'running').length} of ${rs.length} rounds`,
  );
  log.line(
    `  ${'old primary accepted a write after reconnecting'.padEnd(48)} ` +
      `${rs.filter((r) => r.writeAfterReconnect?.accepted).length} of ${rs.length} rounds`,
  );
  log.line(
    `  ${'a group with 2+ writable members after reconnect'.padEnd(48)} ` +
      `${rs.filter((r) => Object.values(r.maxWritable).some((n) => n > 1)).length} of ${rs.length} rounds`,
  );
  for (const part of Object.keys(rs[0]?.parts ?? {}))
    if (part !== 'fault -> etcd names the new primary')
      stat(
        part,
        rs.map((r) => r.parts[part]),
      );
}

function freezeKinds(): FreezeKind[] {
  const kinds = (env.FREEZES ?? 'pause,sigstop')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = kinds.filter((k) => !(FREEZE_KINDS as readonly string[]).includes(k));
  if (bad.length) throw new Error(`FREEZES: unknown kind(s) ${bad.join(', ')}; known: ${FREEZE_KINDS.join(', ')}`);
  return kinds as FreezeKind[];
}

const freezeLine = (f: FreezeRound) =>
  'three ' +
  `${f.kind === 'pause' ? 'docker pauses' : f.kind === 'sigstop' ? 'SIGSTOPs of the postmaster' : 'network cuts'} ` +
  `of ${f.victim} (${f.frozenMs.map((x) => ms(x)).join(', ')} ms): ` +
  `${f.failovers ? 'FAILOVER STARTED' : 'no failover'}, primary after: ${String(f.primaryAfter)}, longest ` +
  `write gap ${ms(f.maxGapMs)} ms, lost ${f.lost} | load ${f.load}${f.ok ? '' : '  FAILED'}`;

async function main(log: Log, cli: CliOptions, cluster: BenchCluster, outDir: string): Promise<number> {
  const rounds = count(process.argv[2] ?? env.ROUNDS, 10);
  const group = env.GROUP ?? 'g1';
  const kinds = freezeKinds();
  const freezeMs = count(env.FREEZE_MS, 1000);
  log.line(
    `bench/partition: ${rounds} network disconnects of ${group}'s primary, then three ${freezeMs} ms freezes ` +
      `of each kind (${kinds.join(', ') || 'none'}); the monitor repairs; spec ` +
      `${path.relative(ROOT, cluster.specFile)}; results in ${outDir}`,
  );
  log.line(machineLine());
  const { isDouble } = await upForMonitorBench(log, cli, cluster);
  const intervalMs = count(env.WRITE_INTERVAL_MS, 10);
  const writers = await WriterFactory.create(cluster, group, isDouble, intervalMs);
  const ctx: PartitionContext = {
    cluster,
    cli,
    group,
    writers,
    intervalMs,
    settleMs: count(env.SETTLE_MS, 3000),
    outDir,
    temporalAddress: `127.0.0.1:${env.CITUSCTL_TEMPORAL_PORT ?? '7233'}`,
    holdMs: count(env.HOLD_MS, 3000),
    note: (line) => log.line(`  ${line}`),
  };
  const results: PartitionRound[] = [];
  for (let i = 1; i <= rounds; i++) {
    const r = await partitionRound(ctx, i).catch((err: unknown): PartitionRound => ({
      kind: 'failover',
      round: i,
      ok: false,
      error: errorMessage(err),
      from: '?',
      writers: [],
      parts: {},
      maxWritable: {},
      load: loadavg(),
    }));
    results.push(r);
    fs.writeFileSync(path.join(outDir, 'rounds.json'), JSON.stringify({ partitions: results }, null, 2));
    log.line(roundLine(r));
    if (!r.ok && r.from === '?') break;
  }
  const freezes: FreezeRound[] = [];
  for (const kind of kinds) {
    const f = await freezeRound(ctx, kind, 3, freezeMs, 2000, 8000).catch((err: unknown): FreezeRound => {
      log.line(`freeze ${kind}: ${errorMessage(err)}`);
      return { kind, victim: '?', frozenMs: [], failovers: 0, lost: 0, ok: false, load: loadavg() };
    });
    freezes.push(f);
    fs.writeFileSync(path.join(outDir, 'rounds.json'), JSON.stringify({ partitions: results, freezes }, null, 2));
    log.line(freezeLine(f));
  }
  log.line('');
  log.line(
    `summary (${isDouble ? 'Citus TEST DOUBLE' : 'real Citus'}; durability ${cluster.spec.durability}; writers ` +
      `every ${intervalMs} ms; loadavg ${loadavg()} at the end)`,
  );
  summarize(log, group, results);
  for (const f of freezes) log.line(`  ${freezeLine(f)}`);
  log.line(
    `reproduce: bash bench/partition/run.sh ${rounds}   (CITUSCTL_IMAGE_POSTGRES=${env.CITUSCTL_IMAGE_POSTGRES ?? ''})`,
  );
  return results.some((r) => !r.ok || r.writers.some((w) => w.lost)) || freezes.some((f) => !f.ok) ? 1 : 0;
}

runBench({
  name: 'partition',
  spec: 'bench/partition/cluster.partition.yaml',
  defaultStateDir: '/tmp/citusctl-bench-partition',
  main,
});
