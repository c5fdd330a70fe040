/**
 * `citusctl up` on three simulated hosts (test/sim-hosts/: a container per host running its own
 * dockerd over mutual TLS on network citusctl-test-hosts-it-mh, 10.218.51.0/24). Each host's worker
 * (`citusctl worker --host hN`, a process per host) builds that host's share of the cluster on its
 * own engine; the setup's SQL runs on the shared queue and reaches members at their hosts' addresses.
 * The flow:
 * - the default layout placed by `spread`: each group's primary and standby on different hosts, three
 *   etcd members (one per host) and two PgBouncers, every
 *   container on the engine of the host placement gives it and on no other (nor on this machine's);
 * - Citus's pg_dist_node names each worker primary by member name and its published port, and every
 *   standby streams from its primary on another host (pg_stat_replication, synchronous);
 * - the demo rows read through PgBouncer at its host's address, and a write through it lands.
 * Cluster it-mh (ports 31720-31729 on the hosts), embedded Temporal on 31739. Backups off and no
 * monitor (test/integration/host-failure.test.ts runs one on several hosts).
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH), the images.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type Docker from 'dockerode';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { addressOf, hostOfContainer, pgbouncerHosts } from '../../common/addressing';
import { LABEL_CLUSTER } from '../../common/labels';
import { parseSpec, type ClusterSpec, type ClusterSpecInput } from '../../common/spec';
import { containerName } from '../../common/topology';
import { acquireRunLock } from './support/failover';
import { docker, layout, runCli, stopTemporal, temporalCli, terminate, testImages } from './support/cluster';
import { removeSimHosts, simHostSpecs, startSimHosts, type SimHost } from './support/sim-hosts';
import {
  removeClusterFromHosts as removeClusterFromSimHosts,
  startHostWorker as startWorkerOnHost,
} from './support/host-workers';

jest.setTimeout(20 * 60_000);

const NAME = 'it-mh';
const SUFFIX = 'it-mh';
const SUBNET = '10.218.51.0/24';
const TEMPORAL_PORT = 31739;

let dir: string;
let stateRoot: string;
let hosts: SimHost[] = [];
let spec: ClusterSpec;
let specFile: string;
const workers: ChildProcess[] = [];
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
});

/** The engine of a spec host (h1 -> the first simulated host). */
const engineOf = (host: string): Docker => hosts[Number(host.slice(1)) - 1]!.docker;

const removeClusterFromHosts = () => removeClusterFromSimHosts(hosts, NAME);

async function startHostWorker(host: string): Promise<void> {
  workers.push(await startWorkerOnHost(host, specFile, env(), workerLogs));
}

/** A superuser session to a member at its host's address and published port (verify-full TLS). */
async function onMember<T>(member: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const secrets = JSON.parse(fs.readFileSync(path.join(stateRoot, 'clusters', NAME, 'secrets.json'), 'utf8')) as {
    superuserPassword: string;
  };
  const ca = fs.readFileSync(path.join(stateRoot, 'clusters', NAME, 'tls', 'ca.crt'), 'utf8');
  const c = new Client({
    host: addressOf(spec, member),
    port: spec.members.find((m) => m.name === member)!.port,
    user: 'postgres',
    password: secrets.superuserPassword,
    database: 'postgres',
    ssl: { ca, servername: member, rejectUnauthorized: true },
  });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
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
    ...layout({ name: NAME, basePort: 31720, temporalPort: TEMPORAL_PORT, rows: 500, shardCount: 4 }),
    images,
    backup: { enabled: false },
    // This machine (the test, the CLI and the shared worker) reaches the hosts from the network's gateway.
    controlAddresses: ['10.218.51.1/32'],
    hosts: simHostSpecs(hosts),
  };
  spec = parseSpec(input);
  specFile = path.join(dir, 'cluster.json');
  fs.writeFileSync(specFile, JSON.stringify(input));
});

afterAll(async () => {
  for (const p of workers) if (p.pid) await terminate(p.pid, 15_000);
  await removeClusterFromHosts().catch(() => undefined);
  await removeSimHosts(SUFFIX, { keepImages: process.env.CITUSCTL_SIM_HOSTS_KEEP !== '0' });
  if (stateRoot) await stopTemporal(stateRoot);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  releaseLock?.();
});

describe('up on three hosts', () => {
  it('with the monitor too, refuses hosts no worker serves, before anything is created', async () => {
    const r = await runCli(['up', '--json', '-c', specFile], { ...env(), CITUSCTL_TEST_MONITOR: '1' }, 120_000);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/hosts not ready, nothing was created/);
    expect(r.stdout + r.stderr).not.toMatch(/the monitor does not watch several hosts/);
    for (const h of ['h1', 'h2', 'h3'])
      expect(await engineOf(h).listContainers({ all: true, filters: { label: [`${LABEL_CLUSTER}=${NAME}`] } })).toEqual(
        [],
      );
  });

  it('refuses hosts without a worker, naming each, before anything is created', async () => {
    await startHostWorker('h1');
    const r = await runCli(['up', '--json', '--no-monitor', '-c', specFile], env(), 120_000);
    expect(r.code).not.toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/hosts not ready, nothing was created/);
    expect(out).toMatch(/h2: no worker polls citusctl-host-h2.*citusctl worker --host h2/);
    expect(out).toMatch(/h3: no worker polls citusctl-host-h3/);
    expect(out).not.toMatch(/h1: no worker/);
    for (const h of ['h1', 'h2', 'h3'])
      expect(await engineOf(h).listContainers({ all: true, filters: { label: [`${LABEL_CLUSTER}=${NAME}`] } })).toEqual(
        [],
      );
  });

  it('builds each host share with that host worker, each group spread over two hosts', async () => {
    for (const h of ['h2', 'h3']) await startHostWorker(h);
    const r = await runCli(['up', '--json', '--no-monitor', '-c', specFile], env(), 15 * 60_000);
    if (r.code !== 0) console.log(`up failed:\n${r.stdout}\n${r.stderr}\n${JSON.stringify(workerLogs, null, 1)}`);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; result: { demoRowsThroughPgBouncer: number } };
    expect(report.ok).toBe(true);
    expect(report.result.demoRowsThroughPgBouncer).toBe(500);

    for (const g of ['coordinator', ...spec.workers]) {
      const placed = spec.members.filter((m) => m.group === g).map((m) => hostOfContainer(spec, m.name).name);
      expect(new Set(placed).size).toBe(placed.length);
    }
    // Every container on the engine placement names, and nowhere else (this machine's engine included).
    const bouncers = pgbouncerHosts(spec).map((h) => h.name);
    expect(bouncers).toHaveLength(2);
    // Three etcd members, etcd-hN on hN.
    const etcdMembers = ['h1', 'h2', 'h3'].map((h) => `etcd-${h}`);
    for (const name of [...spec.members.map((m) => m.name), 'pgbouncer', ...etcdMembers]) {
      const on =
        name === 'pgbouncer'
          ? bouncers
          : name.startsWith('etcd-')
            ? [name.slice('etcd-'.length)]
            : [hostOfContainer(spec, name).name];
      for (const h of ['h1', 'h2', 'h3']) {
        const found = await engineOf(h)
          .getContainer(containerName(NAME, name))
          .inspect()
          .then((i) => i.State.Running)
          .catch(() => undefined);
        expect({ name, host: h, running: found }).toEqual({
          name,
          host: h,
          running: on.includes(h) ? true : undefined,
        });
      }
      await expect(docker.getContainer(containerName(NAME, name)).inspect()).rejects.toMatchObject({ statusCode: 404 });
    }
  });

  it('registers worker primaries by name and published port; each standby streams from another host', async () => {
    const nodes = await onMember('coord-a', async (c) =>
      (
        await c.query<{ nodename: string; nodeport: number }>(
          "SELECT nodename, nodeport FROM pg_dist_node WHERE noderole = 'primary' ORDER BY groupid",
        )
      ).rows.map((r) => `${r.nodename}:${r.nodeport}`),
    );
    const port = (m: string) => spec.members.find((x) => x.name === m)!.port;
    expect(nodes).toEqual(['coord-a', 'g1-a', 'g2-a'].map((m) => `${m}:${port(m)}`));
    for (const [primary, standby] of [
      ['coord-a', 'coord-b'],
      ['g1-a', 'g1-b'],
      ['g2-a', 'g2-b'],
    ] as const) {
      expect(hostOfContainer(spec, primary).name).not.toBe(hostOfContainer(spec, standby).name);
      const rows = await onMember(
        primary,
        async (c) =>
          (
            await c.query<{ application_name: string; state: string; sync_state: string }>(
              'SELECT application_name, state, sync_state FROM pg_stat_replication',
            )
          ).rows,
      );
      // Synchronous: `ANY 1 (...)` reads as quorum, a lone named standby as sync.
      expect(rows.map((r) => ({ ...r, sync_state: ['sync', 'quorum'].includes(r.sync_state) }))).toEqual([
        { application_name: standby, state: 'streaming', sync_state: true },
      ]);
    }
  });

  it.each([0, 1])('serves the demo table through PgBouncer %i at its host address, and a write lands', async (i) => {
    const secrets = JSON.parse(fs.readFileSync(path.join(stateRoot, 'clusters', NAME, 'secrets.json'), 'utf8')) as {
      appPassword: string;
    };
    const ca = fs.readFileSync(path.join(stateRoot, 'clusters', NAME, 'tls', 'ca.crt'), 'utf8');
    const c = new Client({
      host: pgbouncerHosts(spec)[i]!.address,
      port: spec.pgbouncer.port,
      user: 'app',
      password: secrets.appPassword,
      database: 'postgres',
      ssl: { ca, servername: 'pgbouncer', rejectUnauthorized: true },
    });
    await c.connect();
    try {
      const before = Number((await c.query('SELECT count(*) AS n FROM events')).rows[0].n);
      expect(before).toBe(500 + i);
      await c.query('INSERT INTO events (id, payload) VALUES ($1, $2)', [1_000_001 + i, 'across hosts']);
      expect(Number((await c.query('SELECT count(*) AS n FROM events')).rows[0].n)).toBe(501 + i);
    } finally {
      await c.end();
    }
  });

  it("status reads each member on its host's engine and prints the clients' multi-host string", async () => {
    const r = await runCli(['status', '--json', '-c', specFile], env(), 120_000);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      members: { name: string; state: string; role: string }[];
      clients: string;
      livePrimaries: Record<string, string>;
    };
    expect(report.members.map((m) => [m.name, m.state, m.role])).toEqual(
      spec.members.map((m) => [m.name, 'running', m.name.endsWith('-a') ? 'primary' : 'standby']),
    );
    expect(report.livePrimaries).toEqual({ coordinator: 'coord-a', g1: 'g1-a', g2: 'g2-a' });
    const addresses = pgbouncerHosts(spec).map((h) => h.address);
    expect(report.clients).toBe(
      `host=${addresses.join(',')} port=${spec.pgbouncer.port},${spec.pgbouncer.port} target_session_attrs=read-write`,
    );
  });

  it('down --volumes removes the cluster from every host', async () => {
    const r = await runCli(['down', '--json', '--volumes', '-c', specFile], env(), 180_000);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { removedContainers: string[]; unreachableHosts?: string[] };
    expect(report.unreachableHosts).toBeUndefined();
    expect(report.removedContainers).toContain(`${containerName(NAME, 'g1-a')}@${hostOfContainer(spec, 'g1-a').name}`);
    for (const h of ['h1', 'h2', 'h3']) {
      const filters = { label: [`${LABEL_CLUSTER}=${NAME}`] };
      expect(await engineOf(h).listContainers({ all: true, filters })).toEqual([]);
      expect((await engineOf(h).listVolumes({ filters })).Volumes ?? []).toEqual([]);
    }
  });
});
