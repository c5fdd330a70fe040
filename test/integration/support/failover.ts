/**
 * Integration-test support for failover, switchover, rejoin and approval: the live topology (etcd
 * is the truth after a failover, not the spec), replication as seen from the primary, acknowledged
 * writes, and leftovers of a crashed earlier run. Reads go straight to PostgreSQL, etcd and Docker.
 */
import { expect } from '@jest/globals';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import {
  describeRun,
  docker,
  groupMembers,
  memberPort,
  memberSsl,
  primaryKey,
  readSecrets,
  removeLabelled,
  runCli,
  sleep,
  slotName,
  su,
  terminate,
  alive,
  withEtcd,
  type TestCluster,
} from './cluster';
import { pgbouncerSsl } from './pgbouncer-tls';

export const containerOf = (c: TestCluster, member: string) => `citusctl-${c.name}-${member}`;
export const lastFailoverKey = (cluster: string, group: string) => `/citusctl/${cluster}/groups/${group}/last-failover`;

/**
 * Leftovers of an earlier (crashed) run of the same test file: containers, network and volumes
 * labelled for the cluster, and an embedded Temporal dev server still serving the file's own port
 * (its database would hold the earlier run's workflows under the same ids).
 */
export async function removeLeftovers(c: TestCluster): Promise<void> {
  await removeLabelled(c.name);
  await stopTemporalServingPort(c.temporalPort);
}

/**
 * SIGTERMs (then SIGKILLs) any `temporal server start-dev … --port <port>`
 * process: this port is reserved to one test file.
 */
export async function stopTemporalServingPort(port: number): Promise<void> {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const i = argv.indexOf('--port');
    if (argv.includes('start-dev') && argv.includes('server') && i >= 0 && argv[i + 1] === String(port))
      pids.push(Number(entry));
  }
  for (const pid of pids) {
    console.log(`[cleanup] stopping a leftover Temporal dev server on port ${port} (pid ${pid})`);
    await terminate(pid, 5_000);
  }
}

/**
 * `citusctl <args> --json -c <spec>`; fails (with the CLI's output and the tail of every member's
 * container log) unless it exits 0 with one JSON document. Killed after timeoutMs: a hang fails.
 */
export async function cliJson<T>(
  c: TestCluster,
  args: string[],
  opts: { specFile?: string; timeoutMs?: number } = {},
): Promise<T & { ok: boolean }> {
  const r = await runCli([...args, '--json', '-c', opts.specFile ?? c.specFile], c.env, opts.timeoutMs ?? 150_000);
  if (r.code !== 0) throw new Error(`citusctl ${args.join(' ')} failed: ${describeRun(r)}\n${await memberLogTails(c)}`);
  try {
    return JSON.parse(r.stdout) as T & { ok: boolean };
  } catch {
    throw new Error(`citusctl ${args.join(' ')} --json printed no single JSON document: ${describeRun(r)}`);
  }
}

/** The report of failover/switchover/rejoin --json (the parts the tests read). */
export interface GroupRunJson<R> {
  ok: boolean;
  workflowId: string;
  runId: string;
  attached: boolean;
  steps: { name: string; state: string; detail?: string }[];
  result: R;
}

export interface FailoverResultJson {
  outcome: 'failed-over' | 'primary-healthy' | 'approval-timeout' | 'rejected';
  group: string;
  oldPrimary: string;
  newPrimary?: string;
  outageWindowMs?: number;
  rejoined: string[];
  detail: string;
}

export interface SwitchoverResultJson {
  group: string;
  oldPrimary: string;
  newPrimary: string;
  pauseMs: number;
  rejoined: string[];
  detail: string;
}

export const stepStates = (steps: { name: string; state: string }[]) =>
  Object.fromEntries(steps.map((s) => [s.name, s.state]));

/** The live primary of each group, from etcd. */
export async function livePrimaries(c: TestCluster): Promise<Record<string, string | null>> {
  return withEtcd(c, async (etcd) => {
    const out: Record<string, string | null> = {};
    for (const g of ['coordinator', ...c.spec.workers]) out[g] = await etcd.get(primaryKey(c.name, g)).string();
    return out;
  });
}

export async function livePrimary(c: TestCluster, group: string): Promise<string> {
  const p = (await livePrimaries(c))[group];
  if (!p) throw new Error(`etcd has no primary for ${group}`);
  return p;
}

export async function standbysOf(c: TestCluster, group: string): Promise<string[]> {
  const p = await livePrimary(c, group);
  return groupMembers(c, group).filter((m) => m !== p);
}

export async function inRecovery(c: TestCluster, member: string): Promise<boolean> {
  return su(c, member, async (cl) => (await cl.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r);
}

export async function setting(c: TestCluster, member: string, name: string): Promise<string> {
  return su(
    c,
    member,
    async (cl) => (await cl.query<{ v: string }>('SELECT current_setting($1) AS v', [name])).rows[0]!.v,
  );
}

export interface ReplicationRow {
  slot: string;
  active: boolean;
  application_name: string | null;
  state: string | null;
  pid: number | null;
}

/** Every slot on a primary with the walsender using it (pg_stat_replication). */
export async function replicationOn(c: TestCluster, primary: string): Promise<ReplicationRow[]> {
  return su(
    c,
    primary,
    async (cl) =>
      (
        await cl.query<ReplicationRow>(
          `SELECT s.slot_name AS slot, s.active, r.application_name, r.state, r.pid
           FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid ORDER BY 1`,
        )
      ).rows,
  );
}

/**
 * Asserts that standby is in recovery and streams from primary through its own slot (waits a little for the walsender).
 */
export async function expectStreaming(c: TestCluster, standby: string, primary: string): Promise<ReplicationRow> {
  expect({ standby, inRecovery: await inRecovery(c, standby) }).toEqual({ standby, inRecovery: true });
  let rows: ReplicationRow[] = [];
  for (let i = 0; i < 100; i++) {
    rows = await replicationOn(c, primary);
    if (rows.find((r) => r.slot === slotName(standby))?.state === 'streaming') break;
    await sleep(200);
  }
  const row = rows.find((r) => r.slot === slotName(standby));
  expect({
    primary,
    slot: row?.slot,
    active: row?.active,
    applicationName: row?.application_name,
    state: row?.state,
  }).toEqual({
    primary,
    slot: slotName(standby),
    active: true,
    applicationName: standby,
    state: 'streaming',
  });
  // and from the standby's side: its WAL receiver talks to that primary
  const sender = await su(
    c,
    standby,
    async (cl) =>
      (
        await cl.query<{ h: string | null; s: string | null }>(
          'SELECT sender_host AS h, slot_name AS s FROM pg_stat_wal_receiver',
        )
      ).rows[0],
  );
  expect({ standby, senderHost: sender?.h, slot: sender?.s }).toEqual({
    standby,
    senderHost: primary,
    slot: slotName(standby),
  });
  return row!;
}

export interface DistNode {
  nodeid: number;
  groupid: number;
  nodename: string;
  noderole: string;
  isactive: boolean;
}

export async function distNodesOn(c: TestCluster, coordinator: string): Promise<DistNode[]> {
  return su(
    c,
    coordinator,
    async (cl) =>
      (
        await cl.query<DistNode>(
          'SELECT nodeid, groupid, nodename, noderole::text AS noderole, isactive FROM pg_dist_node ORDER BY nodeid',
        )
      ).rows,
  );
}

/** citus_check_cluster_node_health() on the coordinator: every pair, with its result. */
export async function clusterHealth(
  c: TestCluster,
  coordinator: string,
): Promise<{ from: string; to: string; result: boolean | null }[]> {
  return su(
    c,
    coordinator,
    async (cl) =>
      (
        await cl.query<{ from: string; to: string; result: boolean | null }>(
          'SELECT from_nodename AS "from", to_nodename AS "to", result FROM citus_check_cluster_node_health() ' +
            'ORDER BY 1, 2',
        )
      ).rows,
  );
}

// ------------------------------------------------------------------ acknowledged writes

/** Inserts ids one statement (= one commit) at a time on a member; returns the ids acknowledged. */
export async function writeRows(c: TestCluster, member: string, table: string, ids: number[]): Promise<number[]> {
  const acked: number[] = [];
  await su(c, member, async (cl) => {
    // a commit waiting forever for a synchronous standby must fail the test, not hang it
    await cl.query("SET statement_timeout = '30s'");
    for (const id of ids) {
      await cl.query(`INSERT INTO ${table} (id) VALUES ($1)`, [id]);
      acked.push(id);
    }
  });
  return acked;
}

export async function idsOn(c: TestCluster, member: string, table: string): Promise<number[]> {
  return su(c, member, async (cl) =>
    (await cl.query<{ id: string }>(`SELECT id FROM ${table} ORDER BY id`)).rows.map((r) => Number(r.id)),
  );
}

export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

// ------------------------------------------------------------------ Docker

export async function killMember(c: TestCluster, member: string): Promise<void> {
  await docker.getContainer(containerOf(c, member)).kill();
  for (let i = 0; i < 50; i++) {
    if (!(await docker.getContainer(containerOf(c, member)).inspect()).State.Running) return;
    await sleep(100);
  }
  throw new Error(`${member} still running after docker kill`);
}

export async function containerLog(c: TestCluster, member: string): Promise<string> {
  const buf = (await docker
    .getContainer(containerOf(c, member))
    .logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  // multiplexed stream: strip the 8-byte frame headers
  let out = '';
  for (let i = 0; i + 8 <= buf.length;) {
    const len = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + len).toString('utf8');
    i += 8 + len;
  }
  return out;
}

/** The last lines of every member's container log (for failure messages). */
export async function memberLogTails(c: TestCluster, lines = 15): Promise<string> {
  const out: string[] = [];
  for (const m of c.spec.members) {
    const text = await containerLog(c, m.name).catch((e: Error) => `(no log: ${e.message})`);
    out.push(`--- ${m.name} ---\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`);
  }
  return out.join('\n');
}

/**
 * One run of a test file at a time: two runs of the same file share its cluster name, ports and
 * Temporal port, and each one's clean-up would destroy the other's cluster. A lock file holding the
 * pid; a lock whose pid is gone is stale (a crashed run) and taken over.
 */
export async function acquireRunLock(name: string, waitMs = 15 * 60_000): Promise<() => void> {
  const file = path.join(os.tmpdir(), `citusctl-${name}.lock`);
  const deadline = Date.now() + waitMs;
  let announced = false;
  for (;;) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(fs.readFileSync(file, 'utf8').trim());
    if (!holder || holder === process.pid || !alive(holder)) {
      fs.rmSync(file, { force: true }); // stale: its run crashed
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another run of the ${name} tests (pid ${holder}) still holds ${file}`);
    if (!announced) console.log(`[lock] waiting for another run of the ${name} tests (pid ${holder}) to finish`);
    announced = true;
    await sleep(2000);
  }
}

export async function startedAt(c: TestCluster, member: string): Promise<string> {
  return (await docker.getContainer(containerOf(c, member)).inspect()).State.StartedAt;
}

/** `docker exec` as root; exit code and stdout. */
export async function execRoot(
  c: TestCluster,
  member: string,
  cmd: string[],
): Promise<{ code: number; stdout: string }> {
  const exec = await docker
    .getContainer(containerOf(c, member))
    .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, User: '0' });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
  const buf = Buffer.concat(chunks);
  let stdout = '';
  for (let i = 0; i + 8 <= buf.length;) {
    const len = buf.readUInt32BE(i + 4);
    if (buf[i] === 1) stdout += buf.subarray(i + 8, i + 8 + len).toString('utf8');
    i += 8 + len;
  }
  const info = await exec.inspect();
  return { code: info.ExitCode ?? -1, stdout };
}

/**
 * pg_is_in_recovery() through the container's own socket ('t'/'f'; '' while PostgreSQL is not up):
 * never through host TCP, which a proxy or a starting container may stand in for.
 */
export async function recoveryInside(c: TestCluster, member: string): Promise<string> {
  const r = await execRoot(c, member, [
    'sh',
    '-c',
    'setpriv --reuid=postgres --regid=postgres --init-groups ' +
      "psql -h /var/run/postgresql -tAc 'SELECT pg_is_in_recovery()' 2>/dev/null",
  ]);
  return r.code === 0 ? r.stdout.trim() : '';
}

/** Polls fn until it returns a value other than undefined, or throws after timeoutMs with what. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(intervalMs);
  }
}

/** Waits until etcd names `member` the live primary of `group`, then until pg_dist_node on coord-a follows. */
export async function waitForNewPrimary(
  c: TestCluster,
  group: string,
  member: string,
  etcdTimeoutMs: number,
): Promise<void> {
  await waitFor(
    `etcd to name ${member}`,
    async () => ((await livePrimaries(c))[group] === member ? true : undefined),
    etcdTimeoutMs,
    200,
  );
  await waitFor(
    'pg_dist_node to follow',
    async () =>
      (await distNodesOn(c, 'coord-a')).some((n) => n.nodename === member && n.noderole === 'primary')
        ? true
        : undefined,
    60_000,
  );
}

// ------------------------------------------------------------------ PgBouncer as the app user

/**
 * A client through PgBouncer (127.0.0.1:<pgbouncer port>, user
 * app, password from secrets.json, TLS verified with the cluster's CA): what an application holds.
 */
export async function appClient(c: TestCluster): Promise<Client> {
  const client = new Client({
    host: '127.0.0.1',
    port: c.spec.pgbouncer.port,
    user: 'app',
    password: readSecrets(c).appPassword,
    database: 'postgres',
    connectionTimeoutMillis: 5000,
    ssl: pgbouncerSsl(c),
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Each table's row count through PgBouncer as the app user (a restored cluster against its point's record). */
export async function tableCounts(cluster: TestCluster, tables: string[]): Promise<Record<string, number>> {
  const cl = await appClient(cluster);
  try {
    const out: Record<string, number> = {};
    for (const t of tables)
      out[t] = Number((await cl.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`)).rows[0]!.n);
    return out;
  } finally {
    await cl.end();
  }
}

export async function demoCount(cl: Client, table: string): Promise<number> {
  return Number((await cl.query<{ n: string }>(`SELECT count(*) AS n FROM public."${table}"`)).rows[0]!.n);
}

/** Whether the member accepts a superuser connection, and if so whether it is in recovery. */
export async function connectOutcome(
  c: TestCluster,
  member: string,
): Promise<{ connected: boolean; inRecovery?: boolean; error?: string }> {
  const client = new Client({
    host: '127.0.0.1',
    port: memberPort(c, member),
    user: 'postgres',
    password: readSecrets(c).superuserPassword,
    database: 'postgres',
    ssl: memberSsl(c, member),
    connectionTimeoutMillis: 3000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    return { connected: false, error: (err as Error).message };
  }
  try {
    return {
      connected: true,
      inRecovery: (await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}
