/**
 * The loss of a whole host: three simulated hosts (test/sim-hosts/, network
 * citusctl-test-hosts-it-hf, 10.218.61.0/24), the default layout but no coordinator standby, built
 * by `up` with the monitor (each worker group's primary and standby on different hosts, three etcd
 * members, two PgBouncers). Numbered writers go through the clients' multi-host string (each
 * PgBouncer in turn, the first that accepts writes: libpq's target_session_attrs=read-write, which
 * node-postgres lacks). Then the host holding g1's primary dies (`docker kill` of its host
 * container, and its worker with it: the worker runs on that host). The monitor sees g1's primary
 * gone (its peers cannot reach it) and fails g1 over: the failover's probe and fence go to that
 * host's queue, which nobody serves any more, so the primary counts as fenced once the host's peers
 * have lost it for the self-fence deadline; g1's standby on another host is promoted. Writes resume
 * through the surviving PgBouncer and no acknowledged row is lost. How long writes stopped (g1's own,
 * with real Citus) is printed, not asserted. With the Citus test double the writers' rows stay on
 * the coordinator (it routes no query), so only real Citus shows g1's writes stopping and resuming.
 * Then the host boots again and its worker starts: the monitor rejoins g1-a (recorded fenced in
 * etcd) as a standby of g1-b, on that host's queue.
 * Cluster it-hf (ports 31760-31779 on the hosts; metrics of the supervised worker on 31778-31779
 * here), embedded Temporal on 31789.
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH), the images.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { Client as TemporalClient, Connection as TemporalConnection } from '@temporalio/client';
import { addressOf, hostOfContainer, pgbouncerHosts } from '../../common/addressing';
import { parseSpec, type ClusterSpec, type ClusterSpecInput } from '../../common/spec';
import { acquireRunLock } from './support/failover';
import {
  layout,
  runCli,
  sleep,
  stopSupervisedWorker,
  stopTemporal,
  temporalCli,
  terminate,
  testImages,
} from './support/cluster';
import { numberedWriters } from './support/numbered-writers';
import { activityTimeline } from './support/temporal-history';
import { killHost, removeSimHosts, restartHost, simHostSpecs, startSimHosts, type SimHost } from './support/sim-hosts';
import {
  removeClusterFromHosts as removeClusterFromSimHosts,
  startHostWorker as startWorkerOnHost,
} from './support/host-workers';

jest.setTimeout(30 * 60_000);

const NAME = 'it-hf';
const SUFFIX = 'it-hf';
const SUBNET = '10.218.61.0/24';
const TEMPORAL_PORT = 31789;
const WRITES = 'hf_writes';
const METRICS_PORT = 31778; // and 31779 for the SDK's own

let dir: string;
let stateRoot: string;
let hosts: SimHost[] = [];
let spec: ClusterSpec;
let specFile: string;
const workers: Record<string, ChildProcess> = {};
const workerLogs: Record<string, string> = {};
let releaseLock: (() => void) | undefined;

const images = testImages();
const env = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: path.join(dir, 'home'),
  CITUSCTL_STATE_DIR: stateRoot,
  CITUSCTL_TEMPORAL_PORT: String(TEMPORAL_PORT),
  TEMPORAL_CLI_PATH: temporalCli(),
  CITUSCTL_IMAGE_POSTGRES: images.postgres,
  CITUSCTL_IMAGE_PGBOUNCER: images.pgbouncer,
  CITUSCTL_IMAGE_ETCD: images.etcd,
  CITUSCTL_TEST_MONITOR: '1',
});

/** The simulated host of a spec host (h1 -> the first). */
const simHost = (host: string): SimHost => hosts[Number(host.slice(1)) - 1]!;

const removeClusterFromHosts = () => removeClusterFromSimHosts(hosts, NAME);

async function startHostWorker(host: string): Promise<void> {
  workers[host] = await startWorkerOnHost(host, specFile, env(), workerLogs);
}

const secrets = () =>
  JSON.parse(fs.readFileSync(path.join(stateRoot, 'clusters', NAME, 'secrets.json'), 'utf8')) as {
    superuserPassword: string;
    appPassword: string;
  };
const ca = () => fs.readFileSync(path.join(stateRoot, 'clusters', NAME, 'tls', 'ca.crt'), 'utf8');

/** A superuser session to a member at its host's address and published port (verify-full TLS). */
async function onMember<T>(member: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({
    host: addressOf(spec, member),
    port: spec.members.find((m) => m.name === member)!.port,
    user: 'postgres',
    password: secrets().superuserPassword,
    database: 'postgres',
    ssl: { ca: ca(), servername: member, rejectUnauthorized: true },
  });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * What the clients' multi-host string does (`host=a,b port=p,p target_session_attrs=read-write`):
 * each PgBouncer in turn, the first that connects and accepts writes. A statement gets 10 s: one
 * stuck on the dead host errs, and its writer reconnects.
 */
async function multiHostClient(): Promise<Client> {
  const why: string[] = [];
  for (const h of pgbouncerHosts(spec)) {
    const c = new Client({
      host: h.address,
      port: spec.pgbouncer.port,
      user: 'app',
      password: secrets().appPassword,
      database: 'postgres',
      connectionTimeoutMillis: 2000,
      query_timeout: 10_000,
      ssl: { ca: ca(), servername: 'pgbouncer', rejectUnauthorized: true },
    });
    c.on('error', () => undefined);
    try {
      await c.connect();
      const r = await c.query<{ transaction_read_only: string }>('SHOW transaction_read_only');
      if (r.rows[0]?.transaction_read_only === 'off') return c;
      why.push(`${h.name}: read-only`);
    } catch (err) {
      why.push(`${h.name}: ${(err as Error).message}`);
    }
    await c.end().catch(() => undefined);
  }
  throw new Error(`no PgBouncer accepts writes: ${why.join('; ')}`);
}

/** Polls until `done`, failing with `what` after `ms` (a wait for progress, not a timing check). */
async function until(what: string, done: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !done(); await sleep(100))
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  releaseLock = await acquireRunLock(NAME);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), `citusctl-${NAME}-`));
  fs.mkdirSync(path.join(dir, 'home'));
  stateRoot = path.join(dir, 'state');
  hosts = await startSimHosts({
    suffix: SUFFIX,
    count: 3,
    subnet: SUBNET,
    images: [images.postgres, images.pgbouncer, images.etcd],
  });
  await removeClusterFromHosts();
  const input: ClusterSpecInput = {
    metrics: { port: METRICS_PORT },
    // No coordinator standby: the host that dies holds g1's primary, and with the coordinator's
    // synchronous standby there too the coordinator's own commits would wait until the monitor
    // relaxes its durability: the test is about g1.
    ...layout({
      name: NAME,
      basePort: 31760,
      temporalPort: TEMPORAL_PORT,
      rows: 200,
      shardCount: 4,
      coordinatorStandby: false,
    }),
    images,
    backup: { enabled: false },
    // This machine (the test, the CLI and the shared worker) reaches the hosts from the network's gateway.
    controlAddresses: ['10.218.61.1/32'],
    hosts: simHostSpecs(hosts),
  };
  spec = parseSpec(input);
  specFile = path.join(dir, 'cluster.json');
  fs.writeFileSync(specFile, JSON.stringify(input));
});

afterAll(async () => {
  for (const p of Object.values(workers)) if (p.pid && p.exitCode === null) await terminate(p.pid, 15_000);
  if (stateRoot) await stopSupervisedWorker(stateRoot).catch(() => undefined);
  await removeClusterFromHosts().catch(() => undefined);
  await removeSimHosts(SUFFIX, { keepImages: process.env.CITUSCTL_SIM_HOSTS_KEEP !== '0' });
  if (stateRoot) await stopTemporal(stateRoot);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  releaseLock?.();
});

interface StatusJson {
  livePrimaries: Record<string, string>;
  controlPlane: {
    monitor: {
      running: boolean;
      lastProbeAt?: string;
      lastActions?: { kind: string; target: string; outcome: string; detail: string; at?: string }[];
      groups?: Record<string, { primary?: string; verdict?: string }>;
    };
  };
}

async function status(): Promise<StatusJson | undefined> {
  const r = await runCli(['status', '--json', '-c', specFile], env(), 60_000);
  try {
    return JSON.parse(r.stdout) as StatusJson;
  } catch {
    return undefined;
  }
}

/** Polls `status --json` until `done` says so; fails naming `what` after `ms`. */
async function untilStatus(what: string, done: (s: StatusJson) => boolean, ms: number): Promise<StatusJson> {
  let last: StatusJson | undefined;
  for (const end = Date.now() + ms; Date.now() < end; await sleep(500)) {
    last = await status();
    if (last && done(last)) return last;
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last?.controlPlane.monitor ?? last)}`);
}

/** The monitor's failover of g1: when each of its steps ended, from its start (printed, not asserted). */
async function printFailoverTimeline(): Promise<void> {
  const connection = await TemporalConnection.connect({ address: `127.0.0.1:${TEMPORAL_PORT}` });
  try {
    const r = await new TemporalClient({ connection }).workflow
      .getHandle(`failover-${NAME}-g1`)
      .result()
      .then((x: { timeline?: Record<string, number> }) => x.timeline ?? {});
    const t0 = r.started ?? 0;
    console.log(
      `[host failure] the failover: ${Object.entries(r)
        .map(([k, v]) => `${k} +${v - t0} ms`)
        .join(', ')}`,
    );
    const steps = activityTimeline({ workflowId: `failover-${NAME}-g1`, port: TEMPORAL_PORT });
    console.log(`[host failure] the failover's activities (ms from its start):\n  ${steps.join('\n  ')}`);
  } catch (err) {
    console.log(`[host failure] the failover's timeline: ${(err as Error).message}`);
  } finally {
    await connection.close();
  }
}

describe('the loss of a whole host', () => {
  it('up builds the default layout on three hosts and starts the monitor', async () => {
    for (const h of ['h1', 'h2', 'h3']) await startHostWorker(h);
    const r = await runCli(['up', '--json', '-c', specFile], env(), 15 * 60_000);
    if (r.code !== 0) console.log(`up failed:\n${r.stdout}\n${r.stderr}\n${JSON.stringify(workerLogs, null, 1)}`);
    expect(r.code).toBe(0);
    await untilStatus(
      'the monitor to probe',
      (x) => x.controlPlane.monitor.running && !!x.controlPlane.monitor.lastProbeAt,
      120_000,
    );
  });

  it("g1's primary's host dies: the monitor fails g1 over to g1-b, writes resume, none lost", async () => {
    const lost = hostOfContainer(spec, 'g1-a').name;
    expect(hostOfContainer(spec, 'g1-b').name).not.toBe(lost);
    // A PgBouncer survives: the clients' way in.
    expect(pgbouncerHosts(spec).filter((b) => b.name !== lost)).not.toEqual([]);
    await onMember('coord-a', async (c) => {
      await c.query(`CREATE TABLE ${WRITES} (id bigint PRIMARY KEY)`);
      await c.query(`SELECT create_distributed_table('${WRITES}', 'id')`);
      await c.query(`GRANT SELECT, INSERT ON ${WRITES} TO app`);
    });
    const writers = numberedWriters(multiHostClient, WRITES, 4);
    const { acked, ackedAt, errors } = writers;
    let killedAt = 0;
    let failedOverAt = 0;
    try {
      await until('40 rows before the kill', () => acked.length >= 40 || errors.length > 0, 120_000);
      expect(errors).toEqual([]);

      // The machine dies, and with it the worker that runs on it.
      killedAt = Date.now();
      await Promise.all([killHost(simHost(lost)), Promise.resolve(workers[lost]!.kill('SIGKILL'))]);
      const seen = await untilStatus("etcd to name g1-b g1's primary", (x) => x.livePrimaries.g1 === 'g1-b', 300_000);
      failedOverAt = Date.now();
      const actions = (seen.controlPlane.monitor.lastActions ?? []).filter((a) => a.target === 'g1');
      console.log(
        `[host failure] ${lost} killed; etcd names g1-b within ${failedOverAt - killedAt} ms (status polled); ` +
          `the monitor: ${actions.map((a) => `${a.kind} ${a.outcome}: ${a.detail}`).join(' | ')}`,
      );

      await printFailoverTimeline();
      const before = acked.length;
      await until('40 rows acknowledged after the failover', () => acked.length >= before + 40, 180_000);
    } finally {
      await writers.stop();
    }

    // How long no write was acknowledged, from the kill on: the longest gap between acknowledgements.
    const times = [killedAt, ...ackedAt.filter((t) => t >= killedAt).sort((a, b) => a - b)];
    let gap = 0;
    for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
    console.log(
      `[host failure] writes stopped for ${gap} ms at most (g1-b named ${failedOverAt - killedAt} ms after ` +
        `the kill); ${acked.length} rows acknowledged, ${errors.length} failed attempts`,
    );

    // g1's own rows (real Citus places them on g1; the test double keeps every row on the coordinator).
    const g1Rows = await onMember('coord-a', async (c) =>
      (
        await c.query<{ id: string }>(
          `SELECT w.id FROM ${WRITES} w JOIN pg_dist_placement p ` +
            `ON p.shardid = get_shard_id_for_distribution_column('${WRITES}', w.id) ` +
            "JOIN pg_dist_node n USING (groupid) WHERE n.nodename IN ('g1-a', 'g1-b')",
        )
      ).rows.map((x) => Number(x.id)),
    ).catch(() => [] as number[]);
    const g1 = new Set(g1Rows);
    const g1Times = acked.map((id, i) => (g1.has(id) ? ackedAt[i]! : undefined)).filter((t) => t !== undefined);
    // The longest gap between g1's acknowledged rows from the kill on: a row in flight at the kill
    // may still be acknowledged just after it.
    const g1After = [killedAt, ...g1Times.filter((t) => t >= killedAt).sort((a, b) => a - b)];
    let g1Gap = 0;
    let g1GapEnd = killedAt;
    for (let i = 1; i < g1After.length; i++)
      if (g1After[i]! - g1After[i - 1]! > g1Gap) [g1Gap, g1GapEnd] = [g1After[i]! - g1After[i - 1]!, g1After[i]!];
    console.log(
      g1Times.length
        ? `[host failure] g1's writes stopped for ${g1Gap} ms (they resumed ${g1GapEnd - killedAt} ms after the kill)`
        : "[host failure] g1's own rows cannot be told apart (the test double keeps them on the coordinator)",
    );

    const present = new Set(
      await onMember('coord-a', async (c) =>
        (await c.query<{ id: string }>(`SELECT id FROM ${WRITES}`)).rows.map((x) => Number(x.id)),
      ),
    );
    expect(acked.filter((id) => !present.has(id))).toEqual([]);
  });

  it('the host comes back with its worker: the monitor rejoins g1-a as a standby of g1-b', async () => {
    const back = hostOfContainer(spec, 'g1-a').name;
    const t0 = Date.now();
    await restartHost(simHost(back));
    await startHostWorker(back);
    // etcd recorded g1-a fenced: the monitor's rejoin rebuilds it on its host's queue.
    const streaming = async () =>
      onMember('g1-b', async (c) =>
        (
          await c.query<{ application_name: string; state: string }>(
            'SELECT application_name, state FROM pg_stat_replication',
          )
        ).rows.some((r) => r.application_name === 'g1-a' && r.state === 'streaming'),
      ).catch(() => false);
    let ok = false;
    for (const end = Date.now() + 6 * 60_000; !ok && Date.now() < end; await sleep(1000)) ok = await streaming();
    if (!ok)
      console.log(`[host failure] g1-a never streamed: ${JSON.stringify((await status())?.controlPlane.monitor)}`);
    expect(ok).toBe(true);
    console.log(`[host failure] ${back} back: g1-a streams from g1-b ${Date.now() - t0} ms after the restart`);
    expect(await onMember('g1-a', async (c) => (await c.query('SELECT pg_is_in_recovery() AS r')).rows[0].r)).toBe(
      true,
    );
  });
});
