/**
 * bench/backup/restore: `citusctl restore` against the same pgBackRest restores done by hand, and the
 * WAL archive lag under writers. Benchmark only: no test asserts on these numbers. Run through
 * bench/backup/restore/run.sh (env, spec, build).
 *
 * 1. `citusctl up` on SPEC (bench/backup's cluster: 2 worker groups with standbys, 1M demo rows): not timed.
 * 2. Archive lag: WRITERS numbered writers (a row per INSERT, no pause) and BULK_WRITERS writers of
 *    BULK_ROWS rows per INSERT, all through PgBouncer, for LAG_S seconds; every SAMPLE_MS on each
 *    group's primary, pg_stat_archiver's last archived WAL against
 *    the WAL file being written: the lag in completed segments not yet archived, and for every
 *    segment seen completing (the file being written moved on) the time until it was archived
 *    (resolution: SAMPLE_MS).
 * 3. One `citusctl backup` (not timed): its restore point and per-group pgBackRest labels.
 * 4. ROUNDS pairs, alternating which goes first (../paired.ts), the scratch cluster or volumes of the
 *    previous run removed before each (not timed):
 *    A. `citusctl restore --as <scratch> --from <cluster> --to <the backup's point> --no-monitor`
 *       (free ports picked), process start to exit: a working cluster (every group restored in
 *       parallel, then standbys, PgBouncer, etcd, TLS, Citus metadata, the check);
 *    B. by hand, every group at once: a one-shot container (no network) with an empty volume and
 *       the repository mounted read-only runs `pgbackrest --stanza=<group> --set=<label> --type=name
 *       --target=<point> --target-action=promote restore`, starts PostgreSQL with hot_standby off
 *       (`pg_isready` every 0.1 s says when it promoted) and stops it (fast), as
 *       lib/docker/scripts/restore-group.sh does without the role secrets and the member state.
 *    Per pair A, B, A/B and A's restore-data step / B; the medians; where A's time went (its steps,
 *    and in restore-data each group's phases: restore-group.sh's and the activity's total).
 * env: ROUNDS (3), WRITERS (4), BULK_WRITERS (2), BULK_ROWS (1000), LAG_S (60), SAMPLE_MS (1000),
 *      SETTLE_MS (2000), SKIP_LAG=1, KEEP_UP=1.
 */
import { runCommand } from '../../lib/command';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { setupWorkflowId } from '../../../common/workflow-ids';
import type { BackupRecord } from '../../../common/backup-records';
import { BACKUP_REPO_PATH, backupRepoVolumeName } from '../../../common/topology';
import { PG_VOLUME_TARGET } from '../../../lib/docker/node-containers';
import { PGBACKREST_CONF, pgbackrestConf } from '../../../lib/backup/pgbackrest-config';
import { runBench } from '../../lib/bench-main';
import type { BenchCluster } from '../../lib/cluster';
import { runCli, stepMs, stepsByName, type CliOptions, type CliResult } from '../../lib/cli';
import { citusUnderTest, countFromEnv, machineLine, upOnCleanStart } from '../../lib/start';
import { PgBouncerTarget } from '../../lib/targets';
import { loadavg, max, median, now, secs, sleep, table, type Log } from '../../lib/util';
import { NumberedWriter, SequentialIds } from '../../lib/writer';
import { pairedTimes } from '../paired';
import type { RestoreClusterResult } from '../../../workflows/restore-cluster';

const env = process.env;
/** Bytes per bulk row: random-looking text under the TOAST threshold, so WAL carries it uncompressed. */
const BULK_PAYLOAD = 1792;
const IMAGE = env.CITUSCTL_IMAGE_POSTGRES ?? 'citusctl-test/postgres-citus-double:17';

/** A segment's position in the WAL stream (16 MB segments: 256 per log id); the timeline apart. */
export function walSegment(file: string): { tli: number; seg: number } | undefined {
  const m = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/.exec(file);
  return m ? { tli: parseInt(m[1]!, 16), seg: parseInt(m[2]!, 16) * 256 + parseInt(m[3]!, 16) } : undefined;
}

interface LagFigures {
  group: string;
  member: string;
  samples: number[];
  /** ms from a segment seen completing to its archiving (resolution: the sampling period). */
  archivedAfterMs: number[];
  walBytes: number;
  failedCount: number;
}

/** Writers through PgBouncer for lagS seconds; every group primary's archiver sampled meanwhile. */
async function archiveLag(log: Log, cluster: BenchCluster, primaries: Record<string, string>): Promise<LagFigures[]> {
  const nWriters = countFromEnv(env.WRITERS, 4);
  const nBulk = countFromEnv(env.BULK_WRITERS, 2);
  const bulkSize = countFromEnv(env.BULK_ROWS, 1000);
  const lagMs = countFromEnv(env.LAG_S, 60) * 1000;
  const sampleMs = countFromEnv(env.SAMPLE_MS, 1000);
  const pgb = new PgBouncerTarget(cluster, '');
  let next = await pgb.firstId();
  const conns = await Promise.all(
    Object.entries(primaries).map(async ([group, member]) => {
      const c = new Client(cluster.superuser(member, { query_timeout: 5000 }));
      c.on('error', () => undefined);
      await c.connect();
      return { group, member, c };
    }),
  );
  const q = `SELECT pg_walfile_name(pg_current_wal_lsn()) AS cur, pg_current_wal_lsn()::text AS lsn,
               coalesce(last_archived_wal, '') AS arch, failed_count FROM pg_stat_archiver`;
  type Row = { cur: string; lsn: string; arch: string; failed_count: string };
  const figures: LagFigures[] = conns.map(({ group, member }) => ({
    group,
    member,
    samples: [],
    archivedAfterMs: [],
    walBytes: 0,
    failedCount: 0,
  }));
  const startLsn: string[] = [];
  const startFailed: number[] = [];
  for (const [i, { c }] of conns.entries()) {
    const r = (await c.query<Row>(q)).rows[0]!;
    startLsn[i] = r.lsn;
    startFailed[i] = Number(r.failed_count);
  }
  // per group: completed segments (the file written moved past them) not yet seen archived, with when
  const pending: Map<number, number>[] = conns.map(() => new Map());
  const lastCur: (number | undefined)[] = conns.map(() => undefined);
  log.line(
    `archive lag: ${nWriters} numbered writers (a row per INSERT, no pause) and ${nBulk} bulk writers ` +
      `(${bulkSize} rows of ${BULK_PAYLOAD} bytes per INSERT) through PgBouncer, ${lagMs / 1000} s; ` +
      `sampling every ${sampleMs} ms; loadavg ${loadavg()}`,
  );
  const writers = Array.from({ length: nWriters }, () => {
    const w = new NumberedWriter(pgb, new SequentialIds((next += 100_000_000)), 0);
    w.start();
    return w;
  });
  // Bulk writers: single-row INSERTs alone fill a 16 MB segment in minutes, too few to time archiving.
  let stopBulk = false;
  let bulkRows = 0;
  const bulkErrors: string[] = [];
  const bulk = Array.from({ length: nBulk }, async () => {
    const c = new Client(cluster.app({ query_timeout: 60_000 }));
    c.on('error', () => undefined);
    let id = (next += 100_000_000);
    try {
      await c.connect();
      while (!stopBulk) {
        await c.query(
          `INSERT INTO ${cluster.spec.demo.table} (id, payload) ` +
            `SELECT g, repeat(md5(g::text), ${BULK_PAYLOAD / 32}) FROM generate_series($1::bigint, $2::bigint) g`,
          [id, id + bulkSize - 1],
        );
        id += bulkSize;
        bulkRows += bulkSize;
      }
    } catch (err) {
      bulkErrors.push(String(err));
    } finally {
      await c.end().catch(() => undefined);
    }
  });
  try {
    const end = now() + lagMs;
    while (now() < end) {
      const t = now();
      await Promise.all(
        conns.map(async ({ c }, i) => {
          const r = (await c.query<Row>(q)).rows[0]!;
          const cur = walSegment(r.cur);
          const arch = walSegment(r.arch);
          if (!cur) return;
          const f = figures[i]!;
          // completed = every segment before the one being written; archived = up to last_archived_wal
          f.samples.push(arch && arch.tli === cur.tli ? Math.max(0, cur.seg - 1 - arch.seg) : NaN);
          const prev = lastCur[i];
          if (prev !== undefined) for (let s = prev; s < cur.seg; s++) if (!pending[i]!.has(s)) pending[i]!.set(s, t);
          lastCur[i] = cur.seg;
          for (const [s, since] of pending[i]!)
            if (arch && arch.tli === cur.tli && s <= arch.seg) {
              f.archivedAfterMs.push(t - since);
              pending[i]!.delete(s);
            }
        }),
      );
      await sleep(Math.max(0, sampleMs - (now() - t)));
    }
  } finally {
    stopBulk = true;
    await Promise.all([...writers.map((w) => w.stop()), ...bulk]);
  }
  for (const [i, { c }] of conns.entries()) {
    const r = (
      await c.query<{ bytes: string; failed_count: string }>(
        `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::bigint::text AS bytes, failed_count FROM pg_stat_archiver`,
        [startLsn[i]],
      )
    ).rows[0]!;
    figures[i]!.walBytes = Number(r.bytes);
    figures[i]!.failedCount = Number(r.failed_count) - startFailed[i]!;
    await c.end().catch(() => undefined);
  }
  const errors = writers.flatMap((w) => w.errors);
  const acked = writers.reduce((n, w) => n + w.acks.length, 0);
  const fmt = (x: number | undefined) => (x === undefined ? 'n/a' : String(Math.round(x)));
  for (const l of table(
    [
      'GROUP',
      'PRIMARY',
      'WAL MB/s',
      'LAG SEGS median',
      'max',
      'SEGMENTS ARCHIVED',
      'COMPLETED->ARCHIVED ms median',
      'max',
      'ARCHIVE FAILURES',
    ],
    figures.map((f) => [
      f.group,
      f.member,
      (f.walBytes / 1048576 / (lagMs / 1000)).toFixed(2),
      fmt(median(f.samples)),
      fmt(max(f.samples)),
      String(f.archivedAfterMs.length),
      fmt(median(f.archivedAfterMs)),
      fmt(max(f.archivedAfterMs)),
      String(f.failedCount),
    ]),
  ))
    log.line(l);
  log.line(
    `archive lag: ${acked} single rows and ${bulkRows} bulk rows acknowledged through PgBouncer, ` +
      `${errors.length + bulkErrors.length} client errors; loadavg ${loadavg()}`,
  );
  for (const e of bulkErrors.slice(0, 3)) log.line(`  bulk writer error: ${e}`);
  for (const e of errors.slice(0, 5)) log.line(`  client error: row ${e.id}: ${e.message}`);
  return figures;
}

/** The hand side for one group, in a one-shot container: what restore-group.sh does, as an operator would type it. */
const HAND_SCRIPT = `set -eu
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1); export PATH="$PGBIN:$PATH"
R=${PG_VOLUME_TARGET}; D="$R/pgdata"
as() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p "$(dirname ${PGBACKREST_CONF})"; printf '%s' "$CONF" > ${PGBACKREST_CONF}; chmod 644 ${PGBACKREST_CONF}
chown postgres:postgres "$R"
as pgbackrest --config=${PGBACKREST_CONF} --stanza="$GROUP" --set="$LABEL" \\
  --type=name --target="$POINT" --target-action=promote restore
as pg_ctl -D "$D" -l /tmp/pg.log -w -t 300 start \\
  -o "-c listen_addresses= -c ssl=off -c archive_mode=off -c synchronous_standby_names= -c hot_standby=off" ||
  { tail -n 20 /tmp/pg.log; exit 3; }
# hot_standby off: the server takes connections only once it promoted; pg_isready every 0.1 s, as
# restore-group.sh waits: the same wait on both sides
until as pg_isready -q -d postgres; do
  as pg_ctl -D "$D" status >/dev/null || { tail -n 20 /tmp/pg.log; exit 3; }
  sleep 0.1
done
as pg_ctl -D "$D" -m fast -w -t 300 stop
`;

const handVolume = (group: string) => `benchrestore-hand-${group}`;

async function handRestores(source: string, backup: BackupRecord): Promise<void> {
  await Promise.all(
    Object.entries(backup.groups).map(([group, g]) =>
      runCommand(
        'docker',
        [
          'run',
          '--rm',
          '--network',
          'none',
          '--shm-size',
          '256m',
          '-u',
          '0',
          '--name',
          `benchrestore-hand-${group}`,
          '--mount',
          `type=volume,source=${handVolume(group)},target=${PG_VOLUME_TARGET}`,
          '--mount',
          `type=volume,source=${backupRepoVolumeName(source)},target=${BACKUP_REPO_PATH},readonly`,
          '-e',
          'CONF',
          '-e',
          'GROUP',
          '-e',
          'LABEL',
          '-e',
          'POINT',
          '--entrypoint',
          '/bin/sh',
          IMAGE,
          '-c',
          HAND_SCRIPT,
        ],
        {
          CONF: pgbackrestConf({ stanzas: [group], retentionFull: backup.spec.backup.retentionFull }),
          GROUP: group,
          LABEL: g.label,
          POINT: backup.restorePoint,
        },
      ),
    ),
  );
}

async function main(log: Log, cli: CliOptions, cluster: BenchCluster, outDir: string): Promise<number> {
  const rounds = countFromEnv(env.ROUNDS, 3);
  const settleMs = countFromEnv(env.SETTLE_MS, 2000);
  const noSpec: CliOptions = { ...cli, spec: '' };
  log.line(
    `bench/backup/restore: citusctl restore vs pgBackRest restores by hand, ${rounds} pairs; ` +
      'archive lag under writers; ' +
      `${cluster.spec.demo.rows} demo rows, ${cluster.groups().length} groups; results in ${outDir}`,
  );
  log.line(machineLine());
  if (env.SKIP_UP !== '1') {
    await runCli(cli, ['down', '--volumes'], 'down-before');
    await runCommand('docker', ['volume', 'rm', '-f', backupRepoVolumeName(cluster.name)]);
    await upOnCleanStart(cli);
  }
  const citus = await citusUnderTest(cluster);
  log.line(`citus_version(): ${citus.version}${citus.isDouble ? '  (TEST DOUBLE: not a figure for the README)' : ''}`);
  const primaries: Record<string, string> = {};
  for (const g of cluster.groups())
    for (const m of cluster.members(g)) if ((await cluster.role(m.name)) === 'primary') primaries[g] = m.name;

  const lag = env.SKIP_LAG === '1' ? [] : await archiveLag(log, cluster, primaries);

  const b = await runCli(cli, ['backup'], 'backup');
  if (!b.doc.ok) throw new Error(`citusctl backup failed: ${String(b.doc.error)}`);
  const backup = (b.doc.result as { backup: BackupRecord }).backup;
  log.line(
    `backup ${backup.id} in ${secs(b.tExit - b.tSpawn)} s: point ${backup.restorePoint}; ` +
      Object.entries(backup.groups)
        .map(([g, x]) => `${g} ${x.label} ${(x.sizeBytes / 1048576).toFixed(0)} MB`)
        .join(', '),
  );

  let scratch: string | undefined;
  let n = 0;
  const cleanup = async () => {
    for (const g of Object.keys(backup.groups))
      await runCommand('docker', ['rm', '-f', handVolume(g)]).catch(() => undefined);
    if (scratch) {
      const d = await runCli(noSpec, ['down', '--cluster', scratch, '--volumes', '--backups'], `down-${scratch}`);
      if (!d.doc.ok) throw new Error(`down --cluster ${scratch} failed: ${String(d.doc.error)}`);
      scratch = undefined;
    }
    for (const g of Object.keys(backup.groups)) await runCommand('docker', ['volume', 'rm', '-f', handVolume(g)]);
  };
  const runs: CliResult[] = [];
  // The setup child's own steps (its `progress` query, answered by the supervised worker), per run.
  const connection = await Connection.connect({ address: `127.0.0.1:${env.CITUSCTL_TEMPORAL_PORT ?? '7233'}` });
  const temporal = new TemporalClient({ connection });
  const setupSteps: Record<string, number>[] = [];
  const stepsOfSetup = (cluster: string) =>
    temporal.workflow
      .getHandle(setupWorkflowId(cluster))
      .query<{ steps: { name: string; startedAt?: number; endedAt?: number }[] }>('progress')
      .then((p) =>
        Object.fromEntries(
          p.steps
            .filter((x) => x.startedAt !== undefined && x.endedAt !== undefined)
            .map((x) => [x.name, x.endedAt! - x.startedAt!]),
        ),
      )
      .catch(() => ({}));
  let result;
  try {
    result = await pairedTimes(
      rounds,
      async () => {
        scratch = `benchrs${++n}`;
        const r = await runCli(
          noSpec,
          ['restore', '--as', scratch, '--from', cluster.name, '--to', backup.restorePoint, '--no-monitor'],
          `restore-${n}`,
        );
        if (!r.doc.ok) throw new Error(`citusctl restore failed: ${String(r.doc.error)}`);
        runs.push(r);
        setupSteps.push(await stepsOfSetup(scratch));
      },
      () => handRestores(cluster.name, backup),
      {
        between: async () => {
          await cleanup();
          await sleep(settleMs);
        },
        onPair: (p) =>
          log.line(
            `pair ${p.round} (${p.first} first): citusctl restore ${secs(p.aMs)} s, by hand ${secs(p.bMs)} s, ` +
              `ratio ${p.ratio.toFixed(2)}; ` +
              `restore-data step ${secs(stepMs(stepsByName(runs.at(-1)!.doc)['restore-data']))} s ` +
              `(loadavg ${loadavg()})`,
          ),
      },
    );
  } finally {
    await cleanup().catch((err: unknown) => log.line(`cleanup: ${String(err)}`));
    await connection.close().catch(() => undefined);
  }

  const stepNames = ['validate', 'volumes', 'restore-data', 'setup', 'check'];
  const stepMedians = Object.fromEntries(
    stepNames.map((s) => [s, median(runs.map((r) => stepMs(stepsByName(r.doc)[s])))]),
  );
  const figures = (xs: number[]) => [secs(median(xs)), secs(Math.min(...xs)), secs(Math.max(...xs))];
  log.line('');
  for (const l of table(
    ['', 'median s', 'min s', 'max s'],
    [
      ['citusctl restore, whole command (A)', ...figures(result.pairs.map((p) => p.aMs))],
      ['its restore-data step', ...figures(runs.map((r) => stepMs(stepsByName(r.doc)['restore-data']) ?? NaN))],
      ['pgBackRest restores by hand (B)', ...figures(result.pairs.map((p) => p.bMs))],
    ],
  ))
    log.line(l);
  const dataRatios = result.pairs.map((p, i) => (stepMs(stepsByName(runs[i]!.doc)['restore-data']) ?? NaN) / p.bMs);
  log.line(
    `data restore (restore-data step / by hand), pair by pair: median ${median(dataRatios)?.toFixed(2) ?? 'n/a'} ` +
      `(goal <= 1.3); pairs: ${dataRatios.map((r) => r.toFixed(2)).join(', ')}`,
  );
  log.line(
    `whole command / by hand, pair by pair: median ${result.medianRatio?.toFixed(2) ?? 'n/a'}; ` +
      `pairs: ${result.pairs.map((p) => p.ratio.toFixed(2)).join(', ')}`,
  );
  const inSteps = (r: CliResult) => stepNames.reduce((s, x) => s + (stepMs(stepsByName(r.doc)[x]) ?? 0), 0);
  log.line(
    `citusctl restore's steps (median s): ${stepNames.map((s) => `${s} ${secs(stepMedians[s])}`).join(', ')}; ` +
      'outside the steps (CLI start, Temporal, worker, pgpass): ' +
      `${secs(median(runs.map((r) => r.tExit - r.tSpawn - inSteps(r))))} s`,
  );
  // Inside restore-data: each group's phases (median over the runs), the activity's total, and the
  // step's time beyond its slowest group (Temporal's scheduling and the workflow).
  const groupMs = runs.map((r) => (r.doc.result as RestoreClusterResult | undefined)?.groupMs ?? {});
  const phaseNames = ['restore', 'replay', 'roles', 'stop', 'state', 'total'];
  for (const l of table(
    ['group', ...phaseNames.map((p) => `${p} s`), 'docker+activity outside the script s'],
    Object.keys(backup.groups).map((g) => {
      const of = (p: string) => median(groupMs.map((m) => m[g]?.[p] ?? NaN));
      const inScript = (m: Record<string, Record<string, number>>) =>
        phaseNames.filter((p) => p !== 'total').reduce((s, p) => s + (m[g]?.[p] ?? 0), 0);
      return [
        g,
        ...phaseNames.map((p) => secs(of(p))),
        secs(median(groupMs.map((m) => (m[g]?.total ?? NaN) - inScript(m)))),
      ];
    }),
  ))
    log.line(`  restore-data ${l}`);
  const beyond = runs.map(
    (r, i) =>
      (stepMs(stepsByName(r.doc)['restore-data']) ?? NaN) -
      Math.max(...Object.values(groupMs[i] ?? {}).map((m) => m.total ?? NaN)),
  );
  log.line(
    `  restore-data step beyond its slowest group's activity (Temporal, workflow): median ${secs(median(beyond))} s`,
  );
  const setupNames = [...new Set(setupSteps.flatMap((x) => Object.keys(x)))];
  log.line(
    `  setup's steps (median s; steps run side by side overlap): ` +
      setupNames.map((n) => `${n} ${secs(median(setupSteps.map((x) => x[n] ?? NaN)))}`).join(', '),
  );
  log.line(`loadavg at the end ${loadavg()}`);
  fs.writeFileSync(
    path.join(outDir, 'results.json'),
    JSON.stringify(
      {
        citus,
        rows: cluster.spec.demo.rows,
        backup: { ...backup, spec: undefined },
        lag,
        stepMedians,
        dataRatios,
        groupMs,
        setupSteps,
        ...result,
      },
      null,
      2,
    ) + '\n',
  );
  // runBench removes the cluster, its repository too (down --volumes --backups), unless KEEP_UP=1.
  return 0;
}

runBench({
  name: 'restore',
  spec: 'bench/backup/cluster.backup.yaml',
  defaultStateDir: '/tmp/citusctl-bench-brestore',
  main,
});
