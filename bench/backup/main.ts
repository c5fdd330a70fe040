/**
 * bench/backup: `citusctl backup` against the same pgBackRest backups run by hand. Benchmark only:
 * no test asserts on these numbers. Run through bench/backup/run.sh (env, spec, build).
 *
 *   node dist/bench/backup/main.js
 *
 * 1. `citusctl up` on SPEC (2 worker groups with standbys, 1M demo rows, backups on): not timed.
 * 2. ROUNDS pairs, alternating which goes first (paired.ts), each after SETTLE_MS:
 *    A. `node dist/client/cli.js backup -c SPEC --json`, process start to exit: the CLI, the
 *       workflow, a full backup of every group in parallel in its primary, the restore point, the
 *       record in the catalog, and the start of the expiry workflow (`expire-backups-<cluster>`),
 *       which runs on after the command returns: the bench waits for it to end (untimed) before the
 *       next timed run, so it never runs beside one, and prints how long it took;
 *    B. by hand: `docker exec -u postgres <primary> pgbackrest --stanza=<group> --type=full backup`
 *       for every group at once, from the first start to the last exit (pgBackRest expires by the
 *       configured retention at the end of each, as a hand run does).
 *    Per pair A, B and A/B; the medians and the median ratio (goal <= 1.3); where A's time went
 *    (its workflow steps); the data backed up (per group, database and repository sizes).
 *    With HAND_POINT=1 the hand side then also makes a cluster-wide restore point as an operator
 *    would (handPoint): the same job as the command's, minus its row counts and worker locks.
 * env: ROUNDS (3), SETTLE_MS (2000), HAND_POINT, BENCH_OUT, CITUSCTL_STATE_DIR, SKIP_UP=1, KEEP_UP=1.
 */
import { Client, Connection } from '@temporalio/client';
import { runCommand } from '../lib/command';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backupRepoVolumeName } from '../../common/topology';
import { expireBackupsWorkflowId } from '../../common/workflow-ids';
import { PGBACKREST_CONF } from '../../lib/backup/pgbackrest-config';
import { runBench } from '../lib/bench-main';
import type { BenchCluster } from '../lib/cluster';
import { runCli, stepMs, stepsByName, type CliOptions, type CliResult } from '../lib/cli';
import { citusUnderTest, countFromEnv, machineLine } from '../lib/start';
import { loadavg, median, secs, sleep, table, type Log } from '../lib/util';
import { pairedTimes } from './paired';

const env = process.env;

interface GroupFigures {
  member: string;
  sizeBytes: number;
  repoSizeBytes: number;
}

/** Each group's current primary (asked, not assumed: a bench may run after a failover). */
async function primaries(cluster: BenchCluster): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const g of cluster.groups()) {
    for (const m of cluster.members(g)) if ((await cluster.role(m.name)) === 'primary') out[g] = m.name;
    if (!out[g]) throw new Error(`${g}: no primary answers`);
  }
  return out;
}

/** The hand side: every group's full backup in its primary, all at once, as an operator would type them. */
export async function handBackups(cluster: BenchCluster, groupPrimaries: Record<string, string>): Promise<void> {
  await Promise.all(
    Object.entries(groupPrimaries).map(([group, member]) =>
      runCommand('docker', [
        'exec',
        '-u',
        'postgres',
        cluster.containerOf(member),
        'pgbackrest',
        `--config=${PGBACKREST_CONF}`,
        `--stanza=${group}`,
        '--type=full',
        'backup',
      ]),
    ),
  );
}

const psqlLocal = (container: string, sql: string) =>
  runCommand('docker', ['exec', '-u', 'postgres', container, 'psql', '-X', '-Atq', '-d', 'postgres', '-c', sql]).then(
    (out) => out.trim(),
  );

/**
 * A segment (24 hex digits) is archived once pg_stat_archiver's last one is at or past it; a `.backup`
 * history file names the segment its backup started in, so it counts only when that one is later.
 */
const archivedPast = (last: string, segment: string) =>
  last.slice(0, 24) > segment || (last.slice(0, 24) === segment && last.length === 24);

/**
 * HAND_POINT=1: what an operator types after the backups to get the same thing `citusctl backup`
 * records, a cluster-wide point to restore every group to: `citus_create_restore_point` on the
 * coordinator, a WAL switch on every group primary, and waiting until each switched segment is
 * archived (polled every 100 ms). No row counts, no worker locks (Citus 13's function alone).
 */
export async function handPoint(
  cluster: BenchCluster,
  groupPrimaries: Record<string, string>,
  name: string,
): Promise<void> {
  const coordinator = cluster.containerOf(groupPrimaries.coordinator!);
  await psqlLocal(coordinator, `SELECT citus_create_restore_point('${name}')`);
  await Promise.all(
    Object.values(groupPrimaries).map(async (member) => {
      const c = cluster.containerOf(member);
      const segment = await psqlLocal(c, 'SELECT pg_walfile_name(pg_switch_wal())');
      for (;;) {
        const last = await psqlLocal(c, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
        if (archivedPast(last, segment)) return;
        await sleep(100);
      }
    }),
  );
}

/** Where a `citusctl backup` process's time went outside the workflow's steps (from Temporal's own times). */
interface CommandSplit {
  /** Process start to the workflow's start: node, the CLI, connecting, starting the workflow. */
  beforeMs: number;
  /** In the workflow but in no step: workflow tasks, activity scheduling between steps. */
  betweenStepsMs: number;
  /** The workflow's close to the process's exit: the result, the last progress query, closing. */
  afterMs: number;
}

async function commandSplit(client: Client, r: CliResult, stepsMs: number): Promise<CommandSplit | undefined> {
  const runId = (r.doc as { runId?: string }).runId;
  const workflowId = (r.doc as { workflowId?: string }).workflowId;
  if (!workflowId) return undefined;
  const d = await client.workflow.getHandle(workflowId, runId).describe();
  if (!d.closeTime) return undefined;
  const start = d.startTime.getTime();
  const close = d.closeTime.getTime();
  return { beforeMs: start - r.tSpawn, betweenStepsMs: close - start - stepsMs, afterMs: r.tExit - close };
}

/** Waits for the cluster's expiry workflow (if any) to end; its duration, or undefined when none ran. */
async function expiryDone(client: Client, cluster: string): Promise<number | undefined> {
  const handle = client.workflow.getHandle(expireBackupsWorkflowId(cluster));
  const d = await handle.describe().catch(() => undefined);
  if (!d) return undefined;
  await handle.result();
  const closed = await handle.describe();
  return closed.closeTime ? closed.closeTime.getTime() - closed.startTime.getTime() : undefined;
}

async function main(log: Log, cli: CliOptions, cluster: BenchCluster, outDir: string): Promise<number> {
  const rounds = countFromEnv(env.ROUNDS, 3);
  const settleMs = countFromEnv(env.SETTLE_MS, 2000);
  const handWithPoint = env.HAND_POINT === '1';
  log.line(
    `bench/backup: citusctl backup vs pgBackRest by hand, ${rounds} pairs; ${cluster.spec.demo.rows} demo rows, ` +
      `${cluster.spec.demo.shardCount} shards, ${cluster.groups().length} groups; results in ${outDir}`,
  );
  log.line(machineLine());
  if (handWithPoint)
    log.line(
      'HAND_POINT=1: the hand side also makes a restore point (citus_create_restore_point, WAL switch, archived)',
    );
  if (env.SKIP_UP !== '1') {
    await runCli(cli, ['down', '--volumes'], 'down-before');
    // `down --volumes` keeps the repository: a clean start removes it too.
    await runCommand('docker', ['volume', 'rm', '-f', backupRepoVolumeName(cluster.name)]);
    const up = await runCli(cli, ['up'], 'up');
    if (!up.doc.ok) throw new Error(`citusctl up failed: ${String(up.doc.error)}`);
  }
  const citus = await citusUnderTest(cluster);
  log.line(`citus_version(): ${citus.version}${citus.isDouble ? '  (TEST DOUBLE: not a figure for the README)' : ''}`);
  const groupPrimaries = await primaries(cluster);
  log.line(
    `primaries: ${Object.entries(groupPrimaries)
      .map(([g, m]) => `${g}=${m}`)
      .join(', ')}`,
  );

  const connection = await Connection.connect({ address: `127.0.0.1:${env.CITUSCTL_TEMPORAL_PORT ?? '7233'}` });
  const client = new Client({ connection });
  const runs: CliResult[] = [];
  const expiryMs: number[] = [];
  // The expiry a backup started runs on after the command: never beside a timed run.
  const settle = async () => {
    const ms = await expiryDone(client, cluster.name);
    if (ms !== undefined && runs.length > expiryMs.length) expiryMs.push(ms);
    await sleep(settleMs);
  };
  const result = await pairedTimes(
    rounds,
    async () => {
      const r = await runCli(cli, ['backup'], `backup-${runs.length + 1}`);
      if (!r.doc.ok) throw new Error(`citusctl backup failed: ${String(r.doc.error)}`);
      runs.push(r);
    },
    async () => {
      await handBackups(cluster, groupPrimaries);
      if (handWithPoint) await handPoint(cluster, groupPrimaries, `hand-${Date.now()}`);
    },
    {
      between: settle,
      onPair: (p) =>
        log.line(
          `pair ${p.round} (${p.first} first): citusctl ${secs(p.aMs)} s, by hand ${secs(p.bMs)} s, ` +
            `ratio ${p.ratio.toFixed(2)}  (loadavg ${loadavg()})`,
        ),
    },
  );

  const stepNames = ['validate', 'base backups', 'restore point', 'record', 'expire'];
  const stepMedians = Object.fromEntries(
    stepNames.map((s) => [s, median(runs.map((r) => stepMs(stepsByName(r.doc)[s])))]),
  );
  const last = runs.at(-1)?.doc.result as { backup?: { groups?: Record<string, GroupFigures> } } | undefined;
  const groups = last?.backup?.groups ?? {};
  log.line('');
  const figures = (xs: number[]) => [secs(median(xs)), secs(Math.min(...xs)), secs(Math.max(...xs))];
  for (const l of table(
    ['', 'median s', 'min s', 'max s'],
    [
      ['citusctl backup (A)', ...figures(result.pairs.map((p) => p.aMs))],
      ['pgBackRest by hand (B)', ...figures(result.pairs.map((p) => p.bMs))],
    ],
  ))
    log.line(l);
  log.line(
    `median ratio A/B (pair by pair): ${result.medianRatio?.toFixed(2) ?? 'n/a'} (goal <= 1.3)` +
      `; pairs: ${result.pairs.map((p) => p.ratio.toFixed(2)).join(', ')}`,
  );
  const stepRatios = result.pairs.map((p, i) => (stepMs(stepsByName(runs[i]!.doc)['base backups']) ?? NaN) / p.bMs);
  log.line(
    `citusctl's base-backup step alone against the hand backups, pair by pair: median ` +
      `${median(stepRatios)?.toFixed(2) ?? 'n/a'}; pairs: ${stepRatios.map((r) => r.toFixed(2)).join(', ')}`,
  );
  const inSteps = (r: CliResult) => stepNames.reduce((n, s) => n + (stepMs(stepsByName(r.doc)[s]) ?? 0), 0);
  const outside = median(runs.map((r) => r.tExit - r.tSpawn - inSteps(r)));
  log.line(
    `citusctl's steps (median s): ${stepNames.map((s) => `${s} ${secs(stepMedians[s])}`).join(', ')}; ` +
      `outside the workflow's steps (CLI start, Temporal, worker): ${secs(outside)} s`,
  );
  await settle(); // the last run's expiry
  const splits = (await Promise.all(runs.map((r) => commandSplit(client, r, inSteps(r))))).filter(
    (x): x is CommandSplit => x !== undefined,
  );
  const splitMedians = {
    beforeMs: median(splits.map((x) => x.beforeMs)),
    betweenStepsMs: median(splits.map((x) => x.betweenStepsMs)),
    afterMs: median(splits.map((x) => x.afterMs)),
  };
  log.line(
    `outside the steps, split (median s): process start to workflow start ${secs(splitMedians.beforeMs)}, ` +
      `in the workflow between steps ${secs(splitMedians.betweenStepsMs)}, workflow close to exit ` +
      `${secs(splitMedians.afterMs)}; the expiry workflow after each (not in A): median ${secs(median(expiryMs))} s ` +
      `(${expiryMs.map((x) => secs(x)).join(', ')})`,
  );
  await connection.close();
  log.line(
    `data: ${Object.entries(groups)
      .map(
        ([g, x]) =>
          `${g} ${(x.sizeBytes / 1048576).toFixed(0)} MB (${(x.repoSizeBytes / 1048576).toFixed(0)} MB stored)`,
      )
      .join(', ')}`,
  );
  fs.writeFileSync(
    path.join(outDir, 'results.json'),
    JSON.stringify(
      { citus, rows: cluster.spec.demo.rows, groups, stepMedians, splitMedians, expiryMs, ...result },
      null,
      2,
    ) + '\n',
  );
  // runBench removes the cluster, its repository too (down --volumes --backups), unless KEEP_UP=1.
  return 0;
}

runBench({
  name: 'backup',
  spec: 'bench/backup/cluster.backup.yaml',
  defaultStateDir: '/tmp/citusctl-bench-backup',
  main,
});
