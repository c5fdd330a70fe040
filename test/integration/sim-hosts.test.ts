/**
 * The simulated Docker hosts multi-host tests run on (test/sim-hosts/, support/sim-hosts.ts), on
 * real engines: three hosts, each its own dockerd reached over mutual TLS; PostgreSQL (the project's
 * image) on hosts 2 and 3 publishing a port; a client container on host 1 and this machine reach it
 * at <host address>:<port>; killing host 2 makes it unreachable and restarting it brings it back (its
 * engine restarts the container per its restart policy); partitioning host 3 cuts it off from host 1
 * and healing restores it. No timing is asserted; the steps' durations are printed.
 * Network citusctl-test-hosts-it-sim on 10.218.18.0/24; hosts publish 31940 on their own address.
 * Needs Docker able to run containers with every capability (the host image is built when missing).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Client as PgClient } from 'pg';
import { testImages } from './support/cluster';
import {
  engineAnswers,
  healHost,
  killHost,
  partitionHost,
  removeSimHosts,
  restartHost,
  runOnHost,
  startSimHosts,
  type SimHost,
} from './support/sim-hosts';

jest.setTimeout(15 * 60_000);

const SUFFIX = 'it-sim';
const SUBNET = '10.218.18.0/24';
const PG_PORT = 31940;
const IMAGE = testImages().postgres;
// Kept between runs unless CITUSCTL_SIM_HOSTS_KEEP=0: a second run loads no image.
const KEEP_IMAGES = process.env.CITUSCTL_SIM_HOSTS_KEEP !== '0';

let hosts: SimHost[] = [];
const host = (n: number) => hosts[n - 1]!;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function timed<T>(label: string, f: () => Promise<T>): Promise<T> {
  const t = Date.now();
  const out = await f();
  console.log(`[sim-hosts.test] ${label}: ${Date.now() - t} ms`);
  return out;
}

/**
 * A throwaway PostgreSQL for reachability only (trust auth inside the test network, data in the
 * container). Restart policy always: it comes back when its host boots again.
 */
async function startPostgres(h: SimHost): Promise<void> {
  const script = [
    'set -e',
    '[ -f /tmp/pg/PG_VERSION ] || { initdb -D /tmp/pg -A trust -U postgres >/dev/null;',
    "  echo 'host all all 0.0.0.0/0 trust' >> /tmp/pg/pg_hba.conf; }",
    `exec postgres -D /tmp/pg -c listen_addresses='*' -p 5432`,
  ].join('\n');
  const c = await h.docker.createContainer({
    name: 'sim-pg',
    Image: IMAGE,
    User: 'postgres',
    Cmd: ['sh', '-c', script],
    ExposedPorts: { '5432/tcp': {} },
    HostConfig: {
      PortBindings: { '5432/tcp': [{ HostIp: '0.0.0.0', HostPort: String(PG_PORT) }] },
      RestartPolicy: { Name: 'always' },
    },
  });
  await c.start();
}

/** `pg_isready` against target's published port from a one-shot container on `from`: its exit code (0 = accepting). */
async function pgIsReadyFrom(from: SimHost, target: SimHost): Promise<number> {
  const { exitCode } = await runOnHost(from, IMAGE, [
    'pg_isready',
    '-h',
    target.address,
    '-p',
    String(PG_PORT),
    '-t',
    '3',
  ]);
  return exitCode;
}

/** Whether this machine gets an answer to SELECT from PostgreSQL at <target address>:PG_PORT. */
async function reachableFromHere(target: SimHost): Promise<boolean> {
  const client = new PgClient({
    host: target.address,
    port: PG_PORT,
    user: 'postgres',
    database: 'postgres',
    connectionTimeoutMillis: 3000,
    query_timeout: 3000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const r = await client.query<{ one: number }>('SELECT 1 AS one');
    return r.rows[0]?.one === 1;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Polls until `check` holds (PostgreSQL starting, a host booting); fails with what was seen last. */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(500);
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`);
}

describe('simulated Docker hosts', () => {
  beforeAll(async () => {
    hosts = await timed('start 3 hosts with the postgres image', () =>
      startSimHosts({ suffix: SUFFIX, count: 3, subnet: SUBNET, images: [IMAGE] }),
    );
    await timed('postgres started on hosts 2 and 3', () =>
      Promise.all([startPostgres(host(2)), startPostgres(host(3))]),
    );
  });

  afterAll(async () => {
    await removeSimHosts(SUFFIX, { keepImages: KEEP_IMAGES });
  });

  it('each host is its own engine, reached over TLS at its own address', async () => {
    const infos = await Promise.all(hosts.map((h) => h.docker.info() as Promise<{ Name: string; ID: string }>));
    expect(infos.map((i) => i.Name)).toEqual(hosts.map((h) => h.name));
    expect(new Set(infos.map((i) => i.ID)).size).toBe(3);
    expect(hosts.map((h) => h.address)).toEqual(['10.218.18.11', '10.218.18.12', '10.218.18.13']);
    // The PostgreSQL container lives on host 2's engine only.
    const names = async (h: SimHost) => (await h.docker.listContainers()).flatMap((c) => c.Names);
    expect(await names(host(2))).toEqual(['/sim-pg']);
    expect(await names(host(1))).toEqual([]);
  });

  it('a container on host 1 and this machine reach PostgreSQL on host 2 at <host 2 address>:<port>', async () => {
    await timed('postgres on host 2 reachable from host 1', () =>
      eventually('pg_isready from host 1 to host 2', async () => (await pgIsReadyFrom(host(1), host(2))) === 0),
    );
    expect(await reachableFromHere(host(2))).toBe(true);
  });

  it('killing host 2 makes it unreachable; restarting it brings PostgreSQL back', async () => {
    await timed('kill host 2', () => killHost(host(2)));
    expect(await engineAnswers(host(2))).toBe(false);
    expect(await pgIsReadyFrom(host(1), host(2))).not.toBe(0);
    expect(await reachableFromHere(host(2))).toBe(false);

    await timed('restart host 2 (engine up)', () => restartHost(host(2)));
    await timed('postgres back on host 2 (restart policy)', () =>
      eventually(
        'pg_isready from host 1 to host 2 after restart',
        async () => (await pgIsReadyFrom(host(1), host(2))) === 0,
      ),
    );
    expect(await reachableFromHere(host(2))).toBe(true);
  });

  it('partitioning host 3 cuts it off from host 1 and this machine; healing restores it', async () => {
    await timed('postgres on host 3 reachable from host 1', () =>
      eventually('pg_isready from host 1 to host 3', async () => (await pgIsReadyFrom(host(1), host(3))) === 0),
    );
    await timed('partition host 3', () => partitionHost(host(3)));
    expect(await pgIsReadyFrom(host(1), host(3))).not.toBe(0);
    expect(await reachableFromHere(host(3))).toBe(false);
    expect(await engineAnswers(host(3))).toBe(false);
    // Host 1 and 2 still reach each other: only host 3 is cut off.
    expect(await pgIsReadyFrom(host(1), host(2))).toBe(0);

    await timed('heal host 3 (engine answers)', () => healHost(host(3)));
    await timed('postgres on host 3 reachable again from host 1', () =>
      eventually(
        'pg_isready from host 1 to host 3 after heal',
        async () => (await pgIsReadyFrom(host(1), host(3))) === 0,
      ),
    );
    expect(await reachableFromHere(host(3))).toBe(true);
  });
});
