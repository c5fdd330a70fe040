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
 * Then the host of g1's primary (g1-b's, which also holds g2's) is cut off from the others (its
 * network cable pulled: `docker network disconnect`): its worker, which runs on it, stops the isolated
 * primaries (self-fence); the monitor fails g1 and g2 over (the primaries count fenced by the host's
 * peers' silence). A writer on that host itself (psql in g1-b over its local socket) gets no row
 * acknowledged that g1's new primary lacks; none of the numbered writers' rows is lost; after the heal
 * the monitor rejoins the old primaries as standbys and no group ever has two writable members.
 * Each host's worker runs on its host as on a real machine: in the host container's network
 * namespace (`nsenter --net`, so the test runs as root), its engine over the host's local socket
 * (`citusctl worker --host --engine unix://...`), Temporal through a forwarder on the hosts network's
 * gateway (support/tcp-forward.ts): a partition cuts it off from Temporal, etcd and the other hosts,
 * not from its engine.
 * Cluster it-hf (ports 31760-31779 on the hosts; metrics of the supervised worker on 31778-31779
 * here), embedded Temporal on 31789, forwarded to the hosts on 10.218.61.1:31788.
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
import { ensureTemporal } from '../../lib/temporal-server';
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
import { multiHostClient as multiHostClientOf } from './support/multi-host-client';
import { numberedWriters } from './support/numbered-writers';
import { activityTimeline } from './support/temporal-history';
import { containerName } from '../../common/topology';
import { isolatedWriter } from './support/isolated-writer';
import {
  healHost,
  killHost,
  partitionHost,
  removeSimHosts,
  restartHost,
  simHostSpecs,
  startSimHosts,
  subnetAddress,
  type SimHost,
} from './support/sim-hosts';
import {
  removeClusterFromHosts as removeClusterFromSimHosts,
  startHostWorker as startWorkerOnHost,
} from './support/host-workers';
import { startTcpForward, type TcpForward } from './support/tcp-forward';

jest.setTimeout(30 * 60_000);

const NAME = 'it-hf';
const SUFFIX = 'it-hf';
const SUBNET = '10.218.61.0/24';
const TEMPORAL_PORT = 31789;
const TEMPORAL_FORWARD_PORT = 31788; // on the hosts network's gateway
const WRITES = 'hf_writes';
const ISOLATED = 'hf_isolated'; // a plain table on g1's primary, written on its host only
const METRICS_PORT = 31778; // and 31779 for the SDK's own

let dir: string;
let stateRoot: string;
let hosts: SimHost[] = [];
let spec: ClusterSpec;
let specFile: string;
const workers: Record<string, ChildProcess> = {};
const workerLogs: Record<string, string> = {};
let releaseLock: (() => void) | undefined;
let temporalForward: TcpForward | undefined;

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

/** The host's worker, on the host (its network namespace): see the header. */
async function startHostWorker(host: string): Promise<void> {
  if (workerLogs[host]) workerLogs[`${host}-before`] = workerLogs[host];
  workers[host] = await startWorkerOnHost(host, specFile, env(), workerLogs, {
    on: simHost(host),
    temporalAddress: temporalForward!.address,
  });
}

const secrets = () =>
  JSON.parse(fs.readFileSync(path.join(stateRoot, 'clusters', NAME, 'secrets.json'), 'utf8')) as {
    superuserPassword: string;
    appPassword: string;
  };
const ca = () => fs.readFileSync(path.join(stateRoot, 'clusters', NAME, 'tls', 'ca.crt'), 'utf8');

/** A superuser session to a member at its host's address and published port (verify-full TLS). */
async function onMember<T>(
  member: string,
  fn: (c: Client) => Promise<T>,
  timeouts = { connectMs: 10_000, queryMs: 60_000 },
): Promise<T> {
  const c = new Client({
    host: addressOf(spec, member),
    port: spec.members.find((m) => m.name === member)!.port,
    user: 'postgres',
    password: secrets().superuserPassword,
    database: 'postgres',
    connectionTimeoutMillis: timeouts.connectMs,
    query_timeout: timeouts.queryMs,
    ssl: { ca: ca(), servername: member, rejectUnauthorized: true },
  });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The clients' multi-host string (support/multi-host-client.ts); a statement stuck on a dead host errs in 10 s. */
const multiHostClient = () => multiHostClientOf(spec, { stateDir: stateRoot, queryTimeoutMs: 10_000 });

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
  // The host workers reach Temporal through the forwarder only (TEMPORAL_ADDRESS): none starts it.
  await ensureTemporal(stateRoot, env());
  temporalForward = await startTcpForward(subnetAddress(SUBNET, 1), TEMPORAL_FORWARD_PORT, TEMPORAL_PORT);
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
  // The host workers' output, for a failure's post-mortem (overwritten by the next run).
  const logDir = path.join(os.tmpdir(), `citusctl-${NAME}-worker-logs`);
  fs.mkdirSync(logDir, { recursive: true });
  for (const [host, text] of Object.entries(workerLogs)) fs.writeFileSync(path.join(logDir, `${host}.log`), text);
  await temporalForward?.close();
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

/** The monitor's (latest) failover of g1: when each of its steps ended, from its start (printed, not asserted). */
async function printFailoverTimeline(label: string, faultAt: number): Promise<void> {
  const connection = await TemporalConnection.connect({ address: `127.0.0.1:${TEMPORAL_PORT}` });
  try {
    const r = await new TemporalClient({ connection }).workflow
      .getHandle(`failover-${NAME}-g1`)
      .result()
      .then((x: { timeline?: Record<string, number> }) => x.timeline ?? {});
    const t0 = r.started ?? 0;
    console.log(
      `[${label}] g1's failover started ${t0 - faultAt} ms after the fault: ${Object.entries(r)
        .map(([k, v]) => `${k} +${v - t0} ms`)
        .join(', ')}`,
    );
    const steps = activityTimeline({ workflowId: `failover-${NAME}-g1`, port: TEMPORAL_PORT });
    console.log(`[${label}] the failover's activities (ms from its start):\n  ${steps.join('\n  ')}`);
  } catch (err) {
    console.log(`[${label}] the failover's timeline: ${(err as Error).message}`);
  } finally {
    await connection.close();
  }
}

/** The longest stretch without an acknowledgement from `from` on, and when it ended. */
function longestGap(from: number, times: readonly number[]): { gap: number; end: number } {
  const after = [from, ...times.filter((t) => t >= from).sort((a, b) => a - b)];
  let [gap, end] = [0, from];
  for (let i = 1; i < after.length; i++)
    if (after[i]! - after[i - 1]! > gap) [gap, end] = [after[i]! - after[i - 1]!, after[i]!];
  return { gap, end };
}

/**
 * How long no write was acknowledged from `from` (the fault) on, all rows and g1's own (real Citus
 * places them on g1; the test double keeps every row on the coordinator): printed, not asserted.
 */
async function printOutage(
  label: string,
  w: { acked: number[]; ackedAt: number[]; errors: string[] },
  from: number,
  fault: string,
  note: string,
): Promise<void> {
  console.log(
    `[${label}] writes stopped for ${longestGap(from, w.ackedAt).gap} ms at most (${note} ${fault}); ` +
      `${w.acked.length} rows acknowledged, ${w.errors.length} failed attempts`,
  );
  const g1 = new Set(
    await onMember('coord-a', async (c) =>
      (
        await c.query<{ id: string }>(
          `SELECT w.id FROM ${WRITES} w JOIN pg_dist_placement p ` +
            `ON p.shardid = get_shard_id_for_distribution_column('${WRITES}', w.id) ` +
            "JOIN pg_dist_node n USING (groupid) WHERE n.nodename IN ('g1-a', 'g1-b')",
        )
      ).rows.map((x) => Number(x.id)),
    ).catch(() => [] as number[]),
  );
  const g1Times = w.acked.map((id, i) => (g1.has(id) ? w.ackedAt[i]! : undefined)).filter((t) => t !== undefined);
  // A row in flight at the fault may still be acknowledged just after it.
  const { gap, end } = longestGap(from, g1Times);
  console.log(
    g1Times.length
      ? `[${label}] g1's writes stopped for ${gap} ms (they resumed ${end - from} ms after ${fault})`
      : `[${label}] g1's own rows cannot be told apart (the test double keeps them on the coordinator)`,
  );
}

/** The acknowledged numbered rows the cluster lacks. */
async function missingRows(acked: readonly number[]): Promise<number[]> {
  const present = new Set(
    await onMember('coord-a', async (c) =>
      (await c.query<{ id: string }>(`SELECT id FROM ${WRITES}`)).rows.map((x) => Number(x.id)),
    ),
  );
  return acked.filter((id) => !present.has(id));
}

/**
 * Whether the member takes a write now: out of recovery, and a transaction id assigned and committed
 * (txid_current: refused in recovery; with a synchronous standby the commit waits for it). A member
 * that does not answer within a few seconds is not writable; one out of recovery whose write does not
 * return is `stalled` (a primary whose synchronous standby is gone).
 */
const writeState = (member: string): Promise<'writable' | 'stalled' | 'no'> =>
  onMember(
    member,
    async (c) => {
      if ((await c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r) return 'no' as const;
      return c.query('SELECT txid_current()').then(
        () => 'writable' as const,
        () => 'stalled' as const,
      );
    },
    { connectMs: 2000, queryMs: 3000 },
  ).catch(() => 'no' as const);

/**
 * Polls every member until stop(): each round, the groups with more than one writable member (with the
 * round's time) go to `doubles`, members out of recovery whose write stalls to `stalled` (printed);
 * `last` is the latest round's writable members per group.
 */
function watchWritable() {
  const doubles: string[] = [];
  const stalled = new Set<string>();
  let last: Record<string, string[]> = {};
  let rounds = 0;
  let stopped = false;
  const running = (async () => {
    while (!stopped) {
      const at = Date.now();
      const states = await Promise.all(spec.members.map(async (m) => ({ m, state: await writeState(m.name) })));
      const byGroup: Record<string, string[]> = {};
      for (const m of spec.members) byGroup[m.group] ??= [];
      for (const { m, state } of states) {
        if (state === 'writable') byGroup[m.group]!.push(m.name);
        if (state === 'stalled') stalled.add(m.name);
      }
      for (const [g, ms] of Object.entries(byGroup))
        if (ms.length > 1) doubles.push(`${new Date(at).toISOString()} ${g}: ${ms.join(', ')}`);
      last = byGroup;
      rounds++;
      await sleep(250);
    }
  })();
  return {
    doubles,
    async stop() {
      stopped = true;
      await running;
      return { last, rounds, stalled: [...stalled] };
    },
  };
}

/** Polls until each [standby, primary] pair streams (pg_stat_replication on the primary); false after `ms`. */
async function untilStreaming(pairs: ReadonlyArray<readonly [string, string]>, ms: number): Promise<boolean> {
  const streams = async ([standby, primary]: readonly [string, string]) =>
    onMember(primary, async (c) =>
      (
        await c.query<{ application_name: string; state: string }>(
          'SELECT application_name, state FROM pg_stat_replication',
        )
      ).rows.some((r) => r.application_name === standby && r.state === 'streaming'),
    ).catch(() => false);
  for (const end = Date.now() + ms; Date.now() < end; await sleep(1000))
    if ((await Promise.all(pairs.map(streams))).every(Boolean)) return true;
  return false;
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
    const { acked, errors } = writers;
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

      await printFailoverTimeline('host failure', killedAt);
      const before = acked.length;
      await until('40 rows acknowledged after the failover', () => acked.length >= before + 40, 180_000);
    } finally {
      await writers.stop();
    }

    await printOutage('host failure', writers, killedAt, 'the kill', `g1-b named ${failedOverAt - killedAt} ms after`);

    expect(await missingRows(acked)).toEqual([]);
  });

  it('the host comes back with its worker: the monitor rejoins g1-a as a standby of g1-b', async () => {
    const back = hostOfContainer(spec, 'g1-a').name;
    const t0 = Date.now();
    await restartHost(simHost(back));
    await startHostWorker(back);
    // etcd recorded g1-a fenced: the monitor's rejoin rebuilds it on its host's queue.
    const ok = await untilStreaming([['g1-a', 'g1-b']], 6 * 60_000);
    if (!ok)
      console.log(`[host failure] g1-a never streamed: ${JSON.stringify((await status())?.controlPlane.monitor)}`);
    expect(ok).toBe(true);
    console.log(`[host failure] ${back} back: g1-a streams from g1-b ${Date.now() - t0} ms after the restart`);
    expect(await onMember('g1-a', async (c) => (await c.query('SELECT pg_is_in_recovery() AS r')).rows[0].r)).toBe(
      true,
    );
  });

  it("g1's primary's host is cut off: it fences itself, g1 and g2 fail over, one primary per group", async () => {
    const before = (await status())?.livePrimaries ?? {};
    expect(before.g1).toBe('g1-b');
    const cut = hostOfContainer(spec, 'g1-b').name;
    // Every group whose primary is on that host fails over to its member elsewhere.
    const moved: Record<string, { from: string; to: string }> = {};
    for (const [group, primary] of Object.entries(before))
      if (hostOfContainer(spec, primary).name === cut) {
        const to = spec.members.find((m) => m.group === group && hostOfContainer(spec, m.name).name !== cut);
        moved[group] = { from: primary, to: to!.name };
      }
    console.log(`[partition] ${cut} holds the primaries of ${JSON.stringify(moved)}`);

    // The isolated writer's table: a plain table on g1-b itself (physically replicated to g1-a).
    const sync = await onMember('g1-b', async (c) => {
      await c.query(`CREATE TABLE ${ISOLATED} (id bigint PRIMARY KEY)`);
      return (await c.query<{ s: string }>("SELECT current_setting('synchronous_standby_names') AS s")).rows[0]!.s;
    });
    console.log(`[partition] g1-b's synchronous_standby_names: '${sync}'`);
    const iso = isolatedWriter(simHost(cut).name, containerName(NAME, 'g1-b'), ISOLATED);
    const writers = numberedWriters(multiHostClient, WRITES, 4, 1_000_000);
    const { acked, errors } = writers;
    let cutAt = 0;
    let failedOverAt = 0;
    try {
      await until(
        '40 rows and 20 isolated rows before the cut',
        () => (acked.length >= 40 && iso.acked.length >= 20) || errors.length > 0 || iso.other.length > 0,
        120_000,
      );
      expect([errors, iso.other]).toEqual([[], []]);

      cutAt = Date.now();
      await partitionHost(simHost(cut));
      const seen = await untilStatus(
        `etcd to name ${Object.values(moved)
          .map((m) => m.to)
          .join(', ')} primaries`,
        (x) => Object.entries(moved).every(([g, m]) => x.livePrimaries[g] === m.to),
        300_000,
      );
      failedOverAt = Date.now();
      const actions = (seen.controlPlane.monitor.lastActions ?? []).filter((a) => a.target in moved);
      console.log(
        `[partition] ${cut} cut off; etcd names the new primaries within ${failedOverAt - cutAt} ms (status ` +
          `polled); the monitor: ${actions.map((a) => `${a.target} ${a.kind} ${a.outcome}: ${a.detail}`).join(' | ')}`,
      );
      await printFailoverTimeline('partition', cutAt);
      const n = acked.length;
      await until('40 rows acknowledged after the failover', () => acked.length >= n + 40, 180_000);
    } finally {
      await writers.stop();
    }
    await printOutage('partition', writers, cutAt, 'the cut', `new primaries named ${failedOverAt - cutAt} ms after`);
    expect(await missingRows(acked)).toEqual([]);

    // The isolated primary's end, as the isolated writer and the host's worker saw it.
    const isoLast = iso.ackedAt.length ? Math.max(...iso.ackedAt) : cutAt;
    console.log(
      `[partition] isolated writer: ${iso.acked.length} rows acknowledged, ` +
        `${iso.ackedAt.filter((t) => t > cutAt).length} read after the cut, the last ${isoLast - cutAt} ms after ` +
        `it (through two docker execs); its end: ${iso.other.slice(-2).join(' / ') || '(nothing said)'}`,
    );
    for (const h of Object.keys(workers))
      console.log(
        `[partition] ${h}'s worker: ${(workerLogs[h] ?? '')
          .split('\n')
          .filter((l) => l.includes('self-fence: ') && !l.includes('self-fence: on '))
          .slice(-6)
          .join(' | ')}`,
      );

    // The heal: from here on no group may have two writable members (watched from before the cable is back).
    const watch = watchWritable();
    const healAt = Date.now();
    await healHost(simHost(cut));
    let rejoined = false;
    let watched: { last: Record<string, string[]>; rounds: number; stalled: string[] } = {
      last: {},
      rounds: 0,
      stalled: [],
    };
    try {
      const pairs = Object.values(moved).map((m) => [m.from, m.to] as const);
      rejoined = await untilStreaming(pairs, 6 * 60_000);
      const rejoinedAt = Date.now();
      console.log(
        `[partition] healed; ${rejoined ? 'the old primaries stream as standbys' : 'NOT rejoined'} ` +
          `${rejoinedAt - healAt} ms after the heal`,
      );
      if (!rejoined)
        console.log(
          `[partition] ${cut}'s worker ${workers[cut]!.exitCode === null ? 'runs' : 'EXITED'}; the monitor: ` +
            JSON.stringify((await status())?.controlPlane.monitor),
        );
      await sleep(Math.max(0, healAt + 20_000 - Date.now()));
    } finally {
      await iso.stop();
      watched = await watch.stop();
    }
    console.log(
      `[partition] ${watched.rounds} rounds of writable checks; the last: ${JSON.stringify(watched.last)}; ` +
        `out of recovery with a stalled write at some point: ${watched.stalled.join(', ') || 'none'}`,
    );
    expect(rejoined).toBe(true);
    expect(watch.doubles).toEqual([]);
    for (const g of new Set(spec.members.map((m) => m.group))) expect([g, watched.last[g]?.length]).toEqual([g, 1]);
    for (const [g, m] of Object.entries(moved)) expect([g, watched.last[g]]).toEqual([g, [m.to]]);

    // Every row the isolated primary acknowledged is on g1's new primary: none was acknowledged by it alone.
    const onNew = new Set(
      await onMember(moved.g1!.to, async (c) =>
        (await c.query<{ id: string }>(`SELECT id FROM ${ISOLATED}`)).rows.map((x) => Number(x.id)),
      ),
    );
    expect(iso.acked.length).toBeGreaterThan(0);
    expect(iso.acked.filter((id) => !onNew.has(id))).toEqual([]);
  });
});
