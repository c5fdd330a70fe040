/**
 * bench/entry-heal: the monitor repairs the client entry point (PgBouncer) and the control state
 * (etcd) by itself. `citusctl up` (monitor + supervised worker), then under numbered writers:
 * ROUNDS `docker kill`s of PgBouncer, RM_ROUNDS `docker rm -f`s of it, ETCD_ROUNDS `docker kill`s of
 * etcd and RM_ROUNDS `docker rm -f`s of it, each etcd fault followed by a `docker kill` of GROUP's
 * primary once etcd answers (the next failover must work). Nobody runs a command.
 * Benchmark only: no test asserts on these numbers. Run through bench/entry-heal/run.sh.
 *
 * env: ROUNDS (10), RM_ROUNDS (3), ETCD_ROUNDS (5), KINDS (comma list of kill-pgbouncer,
 *      rm-pgbouncer, kill-etcd, rm-etcd; default all), GROUP (g1), SPEC
 *      (bench/entry-heal/cluster.entryheal.yaml), WRITE_INTERVAL_MS (10), SETTLE_MS (3000),
 *      BENCH_OUT, CITUSCTL_STATE_DIR, SKIP_UP=1 / KEEP_UP=1.
 */
import { Connection } from '@temporalio/client';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, runBench } from '../lib/bench-main';
import type { BenchCluster } from '../lib/cluster';
import type { CliOptions } from '../lib/cli';
import { loadavg, Log, max, ms, sum } from '../lib/util';
import { countFromEnv, machineLine, statLine, upForMonitorBench } from '../lib/start';
import { WriterFactory } from '../failover/writers';
import { HEAL_KINDS, healRound, type HealContext, type HealKind, type HealRound } from './round';

const env = process.env;
const count = countFromEnv;

/** The PgBouncer outage target per round (<= 3 s), and how long etcd may take to answer again (<= 10 s). */
const PGBOUNCER_OUTAGE_TARGET_MS = 3000;
const ETCD_BACK_TARGET_MS = 10_000;

function roundLine(r: HealRound): string {
  const w = r.writers.find((x) => x.key === 'pgbouncer');
  const p = r.parts;
  const head = `${r.kind.padEnd(15)} ${String(r.round).padStart(2)}`;
  const tail = ` | load ${r.load}${r.ok ? '' : `  FAILED: ${String(r.error)}`}`;
  if (r.kind.endsWith('pgbouncer')) {
    return (
      `${head} outage ${ms(w?.outageMs)} ms, ${w?.errors ?? '?'} failed tries, lost ` +
      `${w?.lost ?? '?'}/${w?.acked ?? '?'} | runs again ${ms(p['fault -> PgBouncer container runs again'])} | ` +
      `repair recorded ${ms(p["fault -> monitor's repair recorded"])} ms${tail}`
    );
  }
  return (
    `${head} etcd back ${ms(p['fault -> etcd answers (authenticated, primaries kept)'])} ms, writes' longest gap ` +
    `meanwhile ${ms(p['writes: longest gap while etcd was down'])} ms | next failover: outage ${ms(w?.outageMs)} ` +
    `ms, lost ${w?.lost ?? '?'}/${w?.acked ?? '?'}, streams again ` +
    `${ms(p['next failover: kill -> killed member streams again'])} ms${tail}`
  );
}

function summarize(log: Log, kind: HealKind, rs: HealRound[]): void {
  if (!rs.length) return;
  const ok = rs.filter((r) => r.ok);
  log.line(`${kind}: ${ok.length}/${rs.length} rounds repaired by the monitor alone`);
  const stat = statLine(log, 56);
  const pgb = rs.flatMap((r) => r.writers.filter((w) => w.key === 'pgbouncer'));
  const outages = pgb.map((w) => w.outageMs);
  const worst = max(outages);
  if (kind.endsWith('pgbouncer'))
    stat(
      'client write outage (through PgBouncer)',
      outages,
      worst !== undefined
        ? `   target every round <= ${PGBOUNCER_OUTAGE_TARGET_MS}: ` +
            `${worst <= PGBOUNCER_OUTAGE_TARGET_MS ? 'met' : 'NOT met'}`
        : '',
    );
  else {
    const back = rs.map((r) => r.parts['fault -> etcd answers (authenticated, primaries kept)']);
    const worstBack = max(back);
    stat(
      'etcd answers again (authenticated, primaries kept)',
      back,
      worstBack !== undefined
        ? `   target every round <= ${ETCD_BACK_TARGET_MS}: ` +
            `${worstBack <= ETCD_BACK_TARGET_MS && back.every((b) => b !== undefined) ? 'met' : 'NOT met'}`
        : '',
    );
    stat('next failover: client write outage (through PgBouncer)', outages);
  }
  for (const key of ['pgbouncer', 'direct'] as const) {
    const ws = rs.flatMap((r) => r.writers.filter((w) => w.key === key));
    if (ws.length)
      log.line(
        `  ${`acknowledged writes lost (${key})`.padEnd(56)} total ${sum(ws.map((w) => w.lost))} of ` +
          `${sum(ws.map((w) => w.acked))} acked; ${sum(ws.map((w) => w.errors))} failed tries`,
      );
  }
  for (const part of Object.keys(ok[0]?.parts ?? rs[0]?.parts ?? {}))
    stat(
      part,
      rs.map((r) => r.parts[part]),
    );
}

async function main(log: Log, cli: CliOptions, cluster: BenchCluster, outDir: string): Promise<number> {
  const rounds: Record<HealKind, number> = {
    'kill-pgbouncer': count(process.argv[2] ?? env.ROUNDS, 10),
    'rm-pgbouncer': count(env.RM_ROUNDS, 3),
    'kill-etcd': count(env.ETCD_ROUNDS, 5),
    'rm-etcd': count(env.RM_ROUNDS, 3),
  };
  const kinds = env.KINDS ? (env.KINDS.split(',').map((k) => k.trim()) as HealKind[]) : [...HEAL_KINDS];
  const unknown = kinds.filter((k) => !HEAL_KINDS.includes(k));
  if (unknown.length) throw new Error(`KINDS: unknown ${unknown.join(', ')} (known: ${HEAL_KINDS.join(', ')})`);
  const group = env.GROUP ?? 'g1';
  const intervalMs = count(env.WRITE_INTERVAL_MS, 10);
  const settleMs = count(env.SETTLE_MS, 3000);
  log.line(
    `bench/entry-heal: ${kinds.map((k) => `${rounds[k]} x ${k}`).join(', ')}; the monitor repairs; writer ` +
      `every ${intervalMs} ms through PgBouncer; spec ${path.relative(ROOT, cluster.specFile)}; results in ` +
      `${outDir}`,
  );
  log.line(machineLine());
  const { isDouble } = await upForMonitorBench(log, cli, cluster);
  const writers = await WriterFactory.create(cluster, group, isDouble, intervalMs);
  const connection = await Connection.connect({ address: `127.0.0.1:${env.CITUSCTL_TEMPORAL_PORT ?? '7233'}` });
  const ctx: HealContext = { cluster, cli, group, writers, intervalMs, settleMs, outDir, connection };
  const all: Partial<Record<HealKind, HealRound[]>> = {};
  try {
    for (const kind of kinds) {
      const rs: HealRound[] = (all[kind] = []);
      for (let i = 1; i <= rounds[kind]; i++) {
        const r = await healRound(ctx, kind, i);
        rs.push(r);
        fs.writeFileSync(path.join(outDir, 'rounds.json'), JSON.stringify(all, null, 2));
        log.line(roundLine(r));
        for (const n of r.notes) log.line(`    ${n}`);
        if (!r.ok) break;
      }
    }
  } finally {
    await connection.close();
  }
  log.line('');
  log.line(
    `summary (${isDouble ? 'Citus TEST DOUBLE' : 'real Citus'}; durability ${cluster.spec.durability}; loadavg ` +
      `${loadavg()} at the end)`,
  );
  for (const kind of kinds) summarize(log, kind, all[kind] ?? []);
  log.line(
    'reproduce: ' +
      `${kinds.length < HEAL_KINDS.length ? `KINDS=${kinds.join(',')} ` : ''}RM_ROUNDS=${rounds['rm-pgbouncer']} ` +
      `ETCD_ROUNDS=${rounds['kill-etcd']} bash bench/entry-heal/run.sh ${rounds['kill-pgbouncer']}   ` +
      `(CITUSCTL_IMAGE_POSTGRES=${env.CITUSCTL_IMAGE_POSTGRES ?? ''})`,
  );
  const results = Object.values(all).flat();
  return results.some((r) => !r.ok || r.writers.some((w) => w.lost)) ? 1 : 0;
}

runBench({
  name: 'entry-heal',
  spec: 'bench/entry-heal/cluster.entryheal.yaml',
  defaultStateDir: '/tmp/citusctl-bench-entryheal',
  main,
});
