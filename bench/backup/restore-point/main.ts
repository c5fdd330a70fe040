/**
 * bench/backup/restore-point: what a cluster-wide consistent restore point costs its clients.
 * `citusctl up` of cluster.rpoint.yaml (backups on), WRITERS numbered writers inserting into the
 * demo table through PgBouncer (one row per INTERVAL_MS each), then `citusctl restore-point` POINTS
 * times with row counts (every Citus table locked SHARE while counted) and POINTS times with
 * --no-counts (the schedule's kind: only Citus's commit locks), one after the other. Per point:
 * the window writes were held (the record's pauseMs), the workflow step's latency (the point made
 * and its WAL archived on every group), the CLI's wall time, and the longest INSERT a writer waited
 * for while the CLI ran and across the held window (the point's time on the same host clock, give
 * or take the window), against the longest in a quiet stretch before (baseline) and, as a control,
 * the longest across a window as long placed in that quiet stretch (one per point). Exits non-zero
 * when a writer got an error or a point failed. Benchmark only: no test asserts on these numbers.
 * Run through bench/backup/restore-point/run.sh.
 *
 * A second control: `citusctl status` CONTROL_CLIS times (no point), the longest INSERT while it ran:
 * what the CLI's own run costs the writers on this machine.
 *
 * env: POINTS (20), WRITERS (4), INTERVAL_MS (20), BASELINE_MS (10000), CONTROL_CLIS (5), SPEC, BENCH_OUT,
 *      CITUSCTL_STATE_DIR, SKIP_UP=1 / KEEP_UP=1.
 */
import type { RestorePointRecord } from '../../../common/backup-records';
import { runBench } from '../../lib/bench-main';
import { runCli, stepMs, stepsByName } from '../../lib/cli';
import { citusUnderTest, countFromEnv, machineLine, statLine, upOnCleanStart } from '../../lib/start';
import { PgBouncerTarget } from '../../lib/targets';
import { loadavg, now, sleep, table } from '../../lib/util';
import { NumberedWriter, SequentialIds } from '../../lib/writer';
import { TimedTarget } from '../../scale/step';

const env = process.env;

interface PointRow {
  mode: 'counts' | 'no-counts';
  name: string;
  pauseMs: number;
  stepMs: number | undefined;
  cliMs: number;
  /** The longest INSERT that overlapped the CLI's run. */
  stallMs: number;
  /** The longest INSERT that overlapped the writes-held window (the point's time, the same host clock, +- pauseMs). */
  windowStallMs: number;
  /** Control: the longest INSERT across a window as long in the quiet stretch before any point (same writers). */
  quietStallMs: number;
  load: string;
}

/** The longest INSERT try that overlapped [from, to]. */
const longestTry = (tries: readonly { t0: number; t1: number }[], from: number, to: number): number =>
  tries.filter((x) => x.t1 >= from && x.t0 <= to).reduce((m, x) => Math.max(m, x.t1 - x.t0), 0);

runBench({
  name: 'restore-point',
  spec: 'bench/backup/restore-point/cluster.rpoint.yaml',
  defaultStateDir: '/tmp/citusctl-bench-rpoint',
  async main(log, cli, cluster) {
    const points = countFromEnv(env.POINTS, 20);
    const nWriters = countFromEnv(env.WRITERS, 4);
    const intervalMs = countFromEnv(env.INTERVAL_MS, 20);
    const baselineMs = countFromEnv(env.BASELINE_MS, 10_000);
    const controlClis = countFromEnv(env.CONTROL_CLIS, 5);
    log.line(`bench/backup/restore-point: ${points} points with counts + ${points} without, ${nWriters} writers`);
    log.line(machineLine());
    await upOnCleanStart(cli);
    const citus = await citusUnderTest(cluster);
    log.line(`citus_version(): ${citus.version}${citus.isDouble ? '  (TEST DOUBLE: not a figure of Citus)' : ''}`);

    const pgb = new PgBouncerTarget(cluster, '');
    const timed = new TimedTarget(pgb);
    let next = await pgb.firstId();
    const writers = Array.from({ length: nWriters }, () => {
      const w = new NumberedWriter(timed, new SequentialIds((next += 100_000_000)), intervalMs);
      w.start();
      return w;
    });
    const rows: PointRow[] = [];
    let failures = 0;
    let baseline = 0;
    let quiet = { from: 0, to: 0 };
    const cliControl: { cliMs: number; stallMs: number }[] = [];
    try {
      await sleep(2000); // connected and writing
      const b0 = now();
      await sleep(baselineMs);
      quiet = { from: b0, to: now() };
      baseline = longestTry(timed.tries, quiet.from, quiet.to);
      // Control for the CLI's own cost on this machine: a command that makes no point (`status`).
      for (let i = 0; i < controlClis; i++) {
        const r = await runCli(cli, ['status'], `control-${i}`);
        cliControl.push({ cliMs: r.tExit - r.tSpawn, stallMs: longestTry(timed.tries, r.tSpawn, r.tExit) });
        await sleep(500);
      }
      for (const mode of ['counts', 'no-counts'] as const) {
        for (let i = 1; i <= points; i++) {
          const name = `bench-${mode === 'counts' ? 'c' : 'n'}-${i}-${Date.now().toString(36)}`;
          const r = await runCli(cli, ['restore-point', name, ...(mode === 'no-counts' ? ['--no-counts'] : [])], name);
          if (!r.doc.ok) {
            failures++;
            log.line(`  ${name}: FAILED: ${String(r.doc.error)}`);
            continue;
          }
          const point = r.doc.result as unknown as RestorePointRecord;
          rows.push({
            mode,
            name,
            pauseMs: point.pauseMs,
            stepMs: stepMs(stepsByName(r.doc)['restore point']),
            cliMs: r.tExit - r.tSpawn,
            stallMs: longestTry(timed.tries, r.tSpawn, r.tExit),
            windowStallMs: longestTry(
              timed.tries,
              Date.parse(point.createdAt) - point.pauseMs,
              Date.parse(point.createdAt) + point.pauseMs,
            ),
            quietStallMs: 0,
            load: loadavg(),
          });
          await sleep(500);
        }
      }
    } finally {
      await Promise.all(writers.map((w) => w.stop()));
    }
    // The control windows: one per point, as long as its own, spread over the quiet stretch.
    rows.forEach((r, k) => {
      const at = quiet.from + ((k + 0.5) * (quiet.to - quiet.from)) / rows.length;
      r.quietStallMs = longestTry(timed.tries, at - r.pauseMs, at + r.pauseMs);
    });
    const errors = writers.flatMap((w) => w.errors);
    const acked = writers.reduce((n, w) => n + w.acks.length, 0);
    log.line(
      table(
        ['MODE', 'POINT', 'HELD ms', 'STEP ms', 'CLI ms', 'LONGEST INSERT ms', 'IN WINDOW ms', 'QUIET ms', 'LOADAVG'],
        rows.map((r) => [
          r.mode,
          r.name,
          String(r.pauseMs),
          String(Math.round(r.stepMs ?? -1)),
          String(Math.round(r.cliMs)),
          String(Math.round(r.stallMs)),
          String(Math.round(r.windowStallMs)),
          String(Math.round(r.quietStallMs)),
          r.load,
        ]),
      ).join('\n'),
    );
    const stat = statLine(log, 40);
    for (const mode of ['counts', 'no-counts'] as const) {
      const of = rows.filter((r) => r.mode === mode);
      log.line(`${mode} (${of.length} points):`);
      stat(
        'writes held (record pauseMs)',
        of.map((r) => r.pauseMs),
      );
      stat(
        'restore point step (made + archived)',
        of.map((r) => r.stepMs),
      );
      stat(
        'longest INSERT while the CLI ran',
        of.map((r) => r.stallMs),
      );
      stat(
        'longest INSERT across the held window',
        of.map((r) => r.windowStallMs),
      );
      stat(
        'control: same windows, quiet stretch',
        of.map((r) => r.quietStallMs),
      );
    }
    log.line(`control: \`citusctl status\` (no point) ${cliControl.length} times under the same writers:`);
    stat(
      'its CLI wall time',
      cliControl.map((c) => c.cliMs),
    );
    stat(
      'longest INSERT while it ran',
      cliControl.map((c) => c.stallMs),
    );
    log.line(
      `baseline: longest INSERT in ${baselineMs} ms without points ${Math.round(baseline)} ms; ` +
        `${acked} rows acknowledged through PgBouncer, ${errors.length} client errors, ${failures} failed points; ` +
        `loadavg at the end ${loadavg()}`,
    );
    for (const e of errors.slice(0, 10)) log.line(`  client error: row ${e.id}: ${e.message}`);
    return errors.length || failures ? 1 : 0;
  },
});
