/**
 * bench/pgbouncer: PgBouncer at scale. `citusctl up --no-monitor` of cluster.pgbouncer.yaml (one
 * PgBouncer process, 10,000 clients per process, a pool of 20), a distributed table of ROWS rows,
 * then pgbench (bench/pgbouncer/pgbench.ts) reading one row by key through PgBouncer over TLS:
 *   1. CLIENTS (5000,10000) concurrent clients, each connecting, then running TX_PER_CLIENT reads on
 *      its connection, on 1 process (the most clients PgBouncer held at once is sampled: SHOW POOLS);
 *   2. the same on 2 processes (`citusctl up` of the spec with pgbouncer.processes: 2);
 *   3. the cost of TLS on 2 processes: TLS_CLIENTS held connections, then CONNECT_CLIENTS clients
 *      with a new connection per transaction (-C), each with TLS (verify-full) and without (PgBouncer's
 *      client_tls_sslmode set to `allow` for that run only, then back to `require`, checked).
 * Per run: tps, connection time, failed transactions, errors, and the most server connections the
 * coordinator saw from PgBouncer (pg_stat_activity, sampled every 500 ms). Exits non-zero when a run
 * has a failed transaction or an error, or PgBouncer used more server connections than its pool.
 * Benchmark only: no test asserts on these numbers. Run through bench/pgbouncer/run.sh.
 *
 * env: CLIENTS (5000,10000), TX_PER_CLIENT (10), PROCESSES (1,2), TLS_COST (1; 0 skips it),
 *      DURATION_S (20, the TLS runs), THREADS (4),
 *      TLS_CLIENTS (100), CONNECT_CLIENTS (20),
 *      ROWS (10000), PGBENCH_IMAGE (citusctl/postgres:17), SPEC, BENCH_OUT, CITUSCTL_STATE_DIR,
 *      SKIP_UP=1 / KEEP_UP=1.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { Client } from 'pg';
import { PGBOUNCER_MEMBER } from '../../common/topology';
import { ROOT, runBench } from '../lib/bench-main';
import type { BenchCluster } from '../lib/cluster';
import type { ClusterSpec } from '../../common/spec';
import { runCli, type CliOptions } from '../lib/cli';
import { etcdPrimaries } from '../lib/etcd';
import { citusUnderTest, countFromEnv, machineLine, upOnCleanStart } from '../lib/start';
import { errorMessage, loadavg, Log, sleep, table } from '../lib/util';
import Docker from 'dockerode';
import { onEveryBouncer } from '../../activities/setup/pgbouncer-admin';
import { showPools } from '../../lib/postgres/pgbouncer-admin';
import { SecretStore } from '../../lib/secrets';
import { TlsStore } from '../../lib/tls/tls-store';
import { Pgbench, READ_TABLE, type PgbenchResult, type PgbenchRun } from './pgbench';

const env = process.env;
const count = countFromEnv;

interface Row {
  label: string;
  processes: number;
  run: PgbenchRun;
  result: PgbenchResult;
  maxServerConns: number;
  /** The most clients PgBouncer held at once. */
  maxClients: number;
  load: string;
}

/** Server connections from PgBouncer (the app user's backends) on the coordinator, sampled until stopped. */
function sampleServerConnections(cluster: BenchCluster, coordinator: string): { stop: () => Promise<number> } {
  let stopped = false;
  let most = 0;
  const loop = (async () => {
    const c = new Client(cluster.superuser(coordinator, { query_timeout: 5000 }));
    c.on('error', () => undefined);
    await c.connect();
    try {
      while (!stopped) {
        const n = Number(
          (
            await c.query<{ n: string }>(
              "SELECT count(*) AS n FROM pg_stat_activity WHERE usename = 'app' AND backend_type = 'client backend'",
            )
          ).rows[0]!.n,
        );
        most = Math.max(most, n);
        await sleep(500);
      }
    } finally {
      await c.end().catch(() => undefined);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop.catch(() => undefined);
      return most;
    },
  };
}

/** The most clients PgBouncer held at once (SHOW POOLS on every process, summed), sampled until stopped. */
function sampleBouncerClients(cluster: BenchCluster, spec: ClusterSpec): { stop: () => Promise<number> } {
  const deps = {
    docker: new Docker(),
    secrets: new SecretStore(cluster.stateDir),
    tls: new TlsStore(cluster.stateDir),
  };
  let stopped = false;
  let most = 0;
  const loop = (async () => {
    while (!stopped) {
      try {
        const pools = await onEveryBouncer(deps, spec, (c) => showPools(c));
        const held = pools
          .flat()
          .filter((p) => p.user === 'app')
          .reduce((n, p) => n + p.clActive + p.clWaiting, 0);
        most = Math.max(most, held);
      } catch {
        // a sample lost under load; the next one counts
      }
      await sleep(1000);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return most;
    },
  };
}

async function prepareTable(cluster: BenchCluster, coordinator: string, rows: number): Promise<void> {
  await cluster.withClient(cluster.superuser(coordinator, { query_timeout: 300_000 }), async (c) => {
    await c.query(`CREATE TABLE IF NOT EXISTS ${READ_TABLE} (id int PRIMARY KEY, v text)`);
    const distributed = await c.query(`SELECT 1 FROM pg_dist_partition WHERE logicalrelid = '${READ_TABLE}'::regclass`);
    if (!distributed.rowCount) await c.query(`SELECT create_distributed_table('${READ_TABLE}', 'id')`);
    await c.query(
      `INSERT INTO ${READ_TABLE} SELECT g, md5(g::text) FROM generate_series(1, ${rows}) g ON CONFLICT DO NOTHING`,
    );
    await c.query(`GRANT SELECT ON ${READ_TABLE} TO app`);
  });
}

/** Sets PgBouncer's client_tls_sslmode in its shared config and reloads every process (SIGHUP to the run script). */
async function setClientTls(cluster: BenchCluster, mode: 'require' | 'allow'): Promise<void> {
  const container = cluster.containerOf(PGBOUNCER_MEMBER);
  await cluster.docker([
    'exec',
    '-u',
    '0',
    container,
    'sed',
    '-i',
    `s/^client_tls_sslmode = .*/client_tls_sslmode = ${mode}/`,
    '/citusctl/pgbouncer.ini',
  ]);
  await cluster.docker(['kill', '-s', 'HUP', container]);
  await sleep(1500);
}

/** Whether a TCP client without TLS gets in. */
async function plainAccepted(cluster: BenchCluster): Promise<boolean> {
  return cluster.withClient(cluster.app({ ssl: false }), async () => true).catch(() => false);
}

const fmt = (x: number | undefined, digits = 0) => (x === undefined ? '?' : x.toFixed(digits));

function rowCells(r: Row): string[] {
  const res = r.result;
  return [
    r.label,
    String(r.processes),
    String(r.run.clients),
    r.run.tls ? 'TLS' : 'plain',
    r.run.connectEach ? 'per tx (-C)' : 'held',
    fmt(res.tps),
    fmt(res.latencyMs, 1),
    fmt(res.connectMs, 1),
    fmt(res.transactions),
    String(r.maxClients),
    `${fmt(res.failed)}${res.errors.length ? ` +${res.errors.length} errors` : ''}`,
    String(r.maxServerConns),
    r.load,
  ];
}

async function main(log: Log, cli: CliOptions, cluster: BenchCluster, outDir: string): Promise<number> {
  const clientCounts = (env.CLIENTS ?? '5000,10000')
    .split(',')
    .map((x) => count(x, 0))
    .filter((x) => x > 0);
  const seconds = count(env.DURATION_S, 20);
  const threads = count(env.THREADS, 4);
  const tlsClients = count(env.TLS_CLIENTS, 100);
  const connectClients = count(env.CONNECT_CLIENTS, 20);
  const rows = count(env.ROWS, 10_000);
  const txPerClient = count(env.TX_PER_CLIENT, 10);
  const processCounts = (env.PROCESSES ?? '1,2')
    .split(',')
    .map((x) => count(x, 0))
    .filter((x) => x === 1 || x === 2);
  const image = env.PGBENCH_IMAGE ?? 'citusctl/postgres:17';
  log.line(
    `bench/pgbouncer: pgbench reads one row by key of a distributed table (${rows} rows) through PgBouncer; ` +
      `${clientCounts.join(' and ')} concurrent clients (${txPerClient} reads each) on 1 then 2 processes; ` +
      `TLS cost (${seconds} s runs) with ` +
      `${tlsClients} held and ${connectClients} connect-per-transaction clients; spec ` +
      `${path.relative(ROOT, cluster.specFile)}; results in ${outDir}`,
  );
  log.line(machineLine(`, pgbench from ${image} (${threads} threads)`));
  await upOnCleanStart(cli, ['up', '--no-monitor']);
  const coordinator = (await etcdPrimaries(cluster)).coordinator ?? 'coord-a';
  const { version, isDouble } = await citusUnderTest(cluster, coordinator);
  log.line(`citus_version(): ${version}${isDouble ? '  (TEST DOUBLE: no query routing to the workers)' : ''}`);
  await prepareTable(cluster, coordinator, rows);
  const pgbench = new Pgbench(cluster, outDir, image);
  pgbench.prepare(rows);
  const pool = cluster.spec.pgbouncer.poolSize;
  const rowsOut: Row[] = [];
  const header = [
    'run',
    'procs',
    'clients',
    'tls',
    'connection',
    'tps',
    'latency ms',
    'connect ms',
    'tx',
    'max clients held',
    'failed',
    'max server conns',
    'load',
  ];
  const measure = async (label: string, processes: number, run: PgbenchRun) => {
    const sampler = sampleServerConnections(cluster, coordinator);
    // The spec PgBouncer runs now (its processes), not the file the bench started from.
    const clientSampler = sampleBouncerClients(cluster, {
      ...cluster.spec,
      pgbouncer: { ...cluster.spec.pgbouncer, processes },
    });
    let result: PgbenchResult;
    let maxServerConns = 0;
    let maxClients = 0;
    try {
      result = await pgbench.run(label, run);
    } finally {
      maxServerConns = await sampler.stop();
      maxClients = await clientSampler.stop();
    }
    const row: Row = { label, processes, run, result, maxServerConns, maxClients, load: loadavg() };
    rowsOut.push(row);
    log.line(table(header, [rowCells(row)]).slice(-1)[0]!);
    for (const e of result.errors.slice(0, 3)) log.line(`    ${e}`);
    return row;
  };
  try {
    log.line(table(header, [])[0]!);
    for (const processes of processCounts) {
      if (processes === 2) {
        const edited = path.join(outDir, 'cluster.pgbouncer.2-processes.yaml');
        const doc = YAML.parse(fs.readFileSync(cluster.specFile, 'utf8')) as { pgbouncer: Record<string, unknown> };
        doc.pgbouncer.processes = 2;
        fs.writeFileSync(edited, YAML.stringify(doc));
        const up = await runCli({ ...cli, spec: edited }, ['up', '--no-monitor'], 'up-2-processes');
        if (!up.doc.ok) throw new Error(`citusctl up with pgbouncer.processes: 2 failed: ${String(up.doc.error)}`);
        const pids = await cluster.docker(['exec', cluster.containerOf(PGBOUNCER_MEMBER), 'pgrep', '-x', 'pgbouncer']);
        log.line(
          `pgbouncer.processes: 2 applied by citusctl up: ${pids.trim().split('\n').length} pgbouncer processes`,
        );
      }
      for (const clients of clientCounts)
        await measure(`p${processes}-c${clients}`, processes, {
          clients,
          threads,
          seconds,
          transactions: txPerClient,
          connectEach: false,
          tls: true,
        });
    }
    // The cost of TLS, on 2 processes.
    for (const connectEach of env.TLS_COST === '0' ? [] : [false, true]) {
      const clients = connectEach ? connectClients : tlsClients;
      const base = { clients, threads: Math.min(threads, clients), seconds, connectEach };
      await measure(`tls-${connectEach ? 'C' : 'held'}`, 2, { ...base, tls: true });
      await setClientTls(cluster, 'allow');
      try {
        await measure(`plain-${connectEach ? 'C' : 'held'}`, 2, { ...base, tls: false });
      } finally {
        await setClientTls(cluster, 'require');
      }
      if (await plainAccepted(cluster))
        throw new Error('PgBouncer still accepts clients without TLS after the restore');
    }
    log.line('PgBouncer refuses clients without TLS again (client_tls_sslmode = require restored and checked)');
  } catch (err) {
    log.line(`bench/pgbouncer: ${errorMessage(err)}`);
    return 1;
  } finally {
    pgbench.cleanup();
  }
  log.line('');
  for (const line of table(header, rowsOut.map(rowCells))) log.line(line);
  const bad = rowsOut.filter(
    (r) =>
      r.result.exitCode !== 0 ||
      (r.result.failed ?? 1) > 0 ||
      !r.result.transactions ||
      (r.run.transactions !== undefined && r.result.transactions !== r.run.transactions * r.run.clients) ||
      r.result.errors.length ||
      r.maxServerConns > pool,
  );
  const most = Math.max(...rowsOut.map((r) => r.maxServerConns));
  log.line(
    bad.length
      ? `FAILED runs: ${bad.map((r) => r.label).join(', ')} ` +
          `(exit code, failed or missing transactions, errors, or more than ${pool} server connections)`
      : `every run: 0 failed transactions, 0 errors, at most ${most} server connections (pool ${pool})`,
  );
  return bad.length ? 1 : 0;
}

runBench({
  name: 'pgbouncer',
  spec: 'bench/pgbouncer/cluster.pgbouncer.yaml',
  defaultStateDir: '/tmp/citusctl-bench-pgbouncer',
  main,
});
