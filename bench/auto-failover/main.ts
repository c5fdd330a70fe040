/**
 * bench/auto-failover: the monitor repairs by itself. `citusctl up` (monitor + supervised worker),
 * then per round a `docker kill` of the primary of a worker group (ROUNDS rounds), then of the
 * coordinator (COORDINATOR_ROUNDS rounds), under numbered writers; nobody runs a command.
 * Benchmark only: no test asserts on these numbers. Run through bench/auto-failover/run.sh.
 *
 * KILL_WORKER=failover|all: the controller dies too. As soon as the monitor has started the failover
 * workflow, SIGKILL the worker process that runs it (failover) or every worker process the supervisor
 * runs (all); bench/lib/worker-kill.ts. Each round then prints, from the failover's history, where
 * the seconds after the kill went (activities retried after their heartbeat timeout, workflow tasks
 * that timed out on a dead worker's sticky queue or in flight) and when the killed worker polled again.
 * KILL_CONTROL=1 follows each such round with one where no worker is killed (summarized apart): the
 * difference at the same machine load is what the controller's death costs.
 *
 * env: ROUNDS (10), COORDINATOR_ROUNDS (= ROUNDS), GROUP (g1), SPEC (bench/auto-failover/cluster.autofo.yaml),
 *      WRITE_INTERVAL_MS (10), SETTLE_MS (3000), KILL_WORKER (none), KILL_CONTROL, BENCH_OUT, CITUSCTL_STATE_DIR,
 *      SKIP_UP=1 / KEEP_UP=1.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, runBench } from '../lib/bench-main';
import type { BenchCluster } from '../lib/cluster';
import type { CliOptions } from '../lib/cli';
import { errorMessage, loadavg, Log, median, ms, sum } from '../lib/util';
import type { RoundResult } from '../failover/scenarios';
import { countFromEnv, machineLine, statLine, upForMonitorBench } from '../lib/start';
import { WriterFactory } from '../failover/writers';
import { killTarget } from '../lib/worker-kill';
import { autoFailoverRound, type AutoContext } from './round';

const env = process.env;
const count = countFromEnv;

function roundLine(group: string, r: RoundResult): string {
  const w = r.writers.find((x) => x.key === 'pgbouncer') ?? r.writers[0];
  const p = r.parts;
  return (
    `${group.padEnd(12)} ${String(r.round).padStart(2)} ${r.from.padEnd(7)}-> ${(r.to ?? '?').padEnd(7)} outage ` +
    `${ms(w?.outageMs)} ms (PgBouncer), lost ${w?.lost ?? '?'}/${w?.acked ?? '?'} | detect ` +
    `${ms(p['detection: fault -> monitor starts failover'])} | etcd ` +
    `${ms(p['fault -> etcd names the new primary'])} | streams again ` +
    `${ms(p['fault -> killed member streams again'])} ms | load ` +
    `${r.load}${r.ok ? '' : `  FAILED: ${String(r.error)}`}`
  );
}

function summarize(log: Log, group: string, rs: RoundResult[]): void {
  const ok = rs.filter((r) => r.ok);
  const what = group.startsWith('coordinator')
    ? `coordinator primary${group.slice('coordinator'.length)}`
    : `worker primary (${group})`;
  log.line(`${what} ` + `killed: ${ok.length}/${rs.length} rounds repaired by the monitor alone`);
  const stat = statLine(log, 48);
  for (const key of ['pgbouncer', 'direct'] as const) {
    const ws = ok.flatMap((r) => r.writers.filter((w) => w.key === key));
    if (!ws.length) continue;
    const outages = ws.map((w) => w.outageMs);
    const m = median(outages);
    stat(
      `client write outage (${key})`,
      outages,
      key === 'pgbouncer' && m !== undefined
        ? `   target median <= 5000: ${m <= 5000 ? 'met' : 'NOT met'} (stretch 3000: ${m <= 3000 ? 'met' : 'not met'})`
        : '',
    );
    log.line(
      `  ${`acknowledged writes lost (${key})`.padEnd(48)} total ${sum(ws.map((w) => w.lost))} of ` +
        `${sum(ws.map((w) => w.acked))} acked`,
    );
  }
  for (const part of Object.keys(ok[0]?.parts ?? {}))
    stat(
      part,
      ok.map((r) => r.parts[part]),
    );
}

async function main(log: Log, cli: CliOptions, cluster: BenchCluster, outDir: string): Promise<number> {
  const rounds = count(process.argv[2] ?? env.ROUNDS, 10);
  const coordRounds = count(env.COORDINATOR_ROUNDS, rounds);
  const group = env.GROUP ?? 'g1';
  const intervalMs = count(env.WRITE_INTERVAL_MS, 10);
  const settleMs = count(env.SETTLE_MS, 3000);
  const killWorker = killTarget(env.KILL_WORKER);
  const killing = killWorker
    ? '; as soon as the monitor has started the failover, SIGKILL of ' +
      `${killWorker === 'all' ? 'every supervised worker process' : 'the supervised worker process that runs it'}`
    : '';
  log.line(
    `bench/auto-failover: ${rounds} kills of ${group}'s primary + ${coordRounds} of the coordinator's; the ` +
      `monitor repairs${killing}; spec ${path.relative(ROOT, cluster.specFile)}; results in ${outDir}`,
  );
  log.line(machineLine());
  const { isDouble } = await upForMonitorBench(log, cli, cluster);
  const writers = await WriterFactory.create(cluster, group, isDouble, intervalMs);
  const ctx: AutoContext = {
    cluster,
    cli,
    group,
    writers,
    intervalMs,
    settleMs,
    outDir,
    temporalAddress: `127.0.0.1:${env.CITUSCTL_TEMPORAL_PORT ?? '7233'}`,
    killWorker,
    note: (line) => log.line(`  ${line}`),
  };
  const all: Record<string, RoundResult[]> = {};
  const control = killWorker && env.KILL_CONTROL === '1';
  const round = async (key: string, g: string, i: number, c: AutoContext): Promise<boolean> => {
    const r = await autoFailoverRound(c, g, i).catch((err: unknown): RoundResult => ({
      kind: 'failover',
      round: i,
      ok: false,
      error: errorMessage(err),
      from: '?',
      writers: [],
      parts: {},
      load: loadavg(),
    }));
    (all[key] ??= []).push(r);
    fs.writeFileSync(path.join(outDir, 'rounds.json'), JSON.stringify(all, null, 2));
    log.line(roundLine(key === g ? g : `${g} ctrl`, r));
    return r.ok;
  };
  for (const [g, n] of [
    [group, rounds],
    ['coordinator', coordRounds],
  ] as const) {
    all[g] = [];
    for (let i = 1; i <= n; i++) {
      if (!(await round(g, g, i, ctx))) break;
      if (control && !(await round(`${g} (control: no worker killed)`, g, i, { ...ctx, killWorker: undefined }))) break;
    }
  }
  log.line('');
  log.line(
    `summary (${isDouble ? 'Citus TEST DOUBLE' : 'real Citus'}; durability ${cluster.spec.durability}; loadavg ` +
      `${loadavg()} at the end)`,
  );
  for (const [g, rs] of Object.entries(all)) summarize(log, g, rs);
  const killEnv = killWorker ? `KILL_WORKER=${killWorker} ${control ? 'KILL_CONTROL=1 ' : ''}` : '';
  const coordEnv = coordRounds !== rounds ? `COORDINATOR_ROUNDS=${coordRounds} ` : '';
  log.line(
    `reproduce: ${killEnv}${coordEnv}bash ` +
      `bench/auto-failover/run.sh ${rounds}   (CITUSCTL_IMAGE_POSTGRES=${env.CITUSCTL_IMAGE_POSTGRES ?? ''})`,
  );
  const results = Object.values(all).flat();
  return results.some((r) => !r.ok || r.writers.some((w) => w.lost)) ? 1 : 0;
}

runBench({
  name: 'auto-failover',
  spec: 'bench/auto-failover/cluster.autofo.yaml',
  defaultStateDir: '/tmp/citusctl-bench-autofo',
  main,
});
