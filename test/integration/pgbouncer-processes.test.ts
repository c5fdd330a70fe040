/**
 * A real PgBouncer container as citusctl creates it, alone (no PostgreSQL behind it: the admin
 * console and TLS need none): `pgbouncer.processes: 3` on one port, each process reached through
 * its own unix socket; RELOAD, PAUSE and RESUME act on every process; TCP clients need TLS; the
 * file-descriptor limit follows maxClientConn.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { Client } from 'pg';
import { parseSpec } from '../../common/spec';
import { pgbouncerFdLimit } from '../../common/pgbouncer-layout';
import { networkName } from '../../common/topology';
import { execIn, tarOf } from '../../lib/docker/docker-helpers';
import { pgbouncerContainer } from '../../lib/docker/node-containers';
import { bouncerDatabase, resume, startPause } from '../../lib/postgres/pgbouncer-admin';
import { SecretStore } from '../../lib/secrets';
import { ensureClusterTls, identityOf } from '../../lib/tls/cluster-tls';
import { certificateInfo } from '../../lib/tls/x509';
import { TlsStore } from '../../lib/tls/tls-store';
import { installPgbouncerTls, pgbouncerContainerFiles } from '../../activities/setup/pgbouncer';
import { onEveryBouncer, reloadPgbouncer, withBouncerAdmins } from '../../activities/setup/pgbouncer-admin';
import { testImages } from './support/cluster';

jest.setTimeout(120_000);

const docker = new Docker();
const PORT = 31080;
const spec = parseSpec({
  name: 'pgbprocs',
  workers: ['g1'],
  members: [
    { name: 'coord-a', group: 'coordinator', port: 31081 },
    { name: 'g1-a', group: 'g1', port: 31082 },
  ],
  pgbouncer: { port: PORT, processes: 3, maxClientConn: 12_000, poolSize: 9 },
  etcd: { port: 31083 },
});
const container = `citusctl-${spec.name}-pgbouncer`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-pgbprocs-'));
const deps = { docker, secrets: new SecretStore(dir), tls: new TlsStore(dir) };

async function cleanup() {
  await docker
    .getContainer(container)
    .remove({ force: true })
    .catch(() => undefined);
  await docker
    .getNetwork(networkName(spec.name))
    .remove()
    .catch(() => undefined);
}

beforeAll(async () => {
  await cleanup();
  await docker.createNetwork({ Name: networkName(spec.name), Driver: 'bridge' });
  await ensureClusterTls(deps.tls, spec);
  const s = await deps.secrets.ensure(spec.name);
  const c = await docker.createContainer(pgbouncerContainer(spec, testImages().pgbouncer));
  await c.putArchive(await tarOf(await pgbouncerContainerFiles(deps, spec, 'coord-a', s)), { path: '/' });
  await c.start();
  // Up once every process answers on its socket.
  for (let i = 0; ; i++) {
    try {
      await onEveryBouncer(deps, spec, (a) => bouncerDatabase(a));
      break;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});

afterAll(async () => {
  await cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

const show = async (c: Client, what: string) => (await c.query<Record<string, string>>(`SHOW ${what}`)).rows;

test('three processes, one each per socket, peered, file-descriptor limit from maxClientConn', async () => {
  const configs = await onEveryBouncer(deps, spec, async (c, p) => {
    const cfg = Object.fromEntries((await show(c, 'CONFIG')).map((r) => [r.key, r.value]));
    return { p, peerId: cfg.peer_id, reuse: cfg.so_reuseport, max: cfg.max_client_conn, pool: cfg.default_pool_size };
  });
  expect(configs).toEqual([1, 2, 3].map((p) => ({ p, peerId: String(p), reuse: '1', max: '12000', pool: '3' })));
  const peers = await onEveryBouncer(deps, spec, async (c) => (await show(c, 'PEERS')).length);
  expect(peers).toEqual([3, 3, 3]);
  // Distinct processes (the unix sockets are not all one process's).
  const pids = await execIn(docker, container, ['sh', '-c', 'pgrep -x pgbouncer | wc -l'], '');
  expect(pids.stdout.trim()).toBe('3');
  const limit = await execIn(docker, container, ['sh', '-c', 'cat /proc/$(pgrep -x pgbouncer | head -1)/limits'], '');
  expect(limit.stdout).toMatch(new RegExp(`Max open files\\s+${pgbouncerFdLimit(spec)}\\s`));
});

test('a TCP client without TLS is refused; with the cluster CA and servername pgbouncer it connects', async () => {
  const s = await deps.secrets.ensure(spec.name);
  const base = { host: '127.0.0.1', port: PORT, user: 'citusctl_admin', password: s.pgbouncerAdminPassword };
  const plain = new Client({ ...base, database: 'pgbouncer', ssl: false });
  await expect(plain.connect()).rejects.toThrow(/SSL required|ssl/i);
  await plain.end().catch(() => undefined);
  const ca = await deps.tls.trust(spec.name);
  const tls = new Client({ ...base, database: 'pgbouncer', ssl: { ca, servername: 'pgbouncer' } });
  await tls.connect();
  expect((await tls.query('SHOW VERSION')).rows[0]).toBeDefined();
  await tls.end();
  // A certificate from another CA is not trusted.
  const other = new TlsStore(fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-pgbprocs-other-')));
  await ensureClusterTls(other, spec);
  const wrong = new Client({ ...base, database: 'pgbouncer', ssl: { ca: await other.trust(spec.name) } });
  await expect(wrong.connect()).rejects.toThrow(/certificate/i);
  await wrong.end().catch(() => undefined);
});

test('PAUSE and RESUME act on every process; RELOAD on every process keeps them up', async () => {
  await withBouncerAdmins(deps, spec, async (admins) => {
    expect(admins).toHaveLength(3);
    // No server connections (nothing behind it): each PAUSE completes at once.
    await Promise.all(admins.map((a) => startPause(a)));
    expect((await Promise.all(admins.map((a) => bouncerDatabase(a)))).map((d) => d?.paused)).toEqual([
      true,
      true,
      true,
    ]);
  });
  expect(await onEveryBouncer(deps, spec, (c) => resume(c))).toEqual([1, 2, 3].map(() => ({ resumed: true })));
  expect((await onEveryBouncer(deps, spec, (c) => bouncerDatabase(c))).map((d) => d?.paused)).toEqual([
    false,
    false,
    false,
  ]);
  await reloadPgbouncer(deps, spec);
  expect(await onEveryBouncer(deps, spec, async (c, p) => p)).toEqual([1, 2, 3]);
});

/** The serial number of the certificate a new TLS client connection is served (hex, lower case, no leading 0). */
async function servedSerial(): Promise<string> {
  const s = await deps.secrets.ensure(spec.name);
  const c = new Client({
    host: '127.0.0.1',
    port: PORT,
    user: 'citusctl_admin',
    password: s.pgbouncerAdminPassword,
    database: 'pgbouncer',
    ssl: { ca: await deps.tls.trust(spec.name), servername: 'pgbouncer' },
  });
  await c.connect();
  try {
    const socket = (c as unknown as { connection: { stream: import('node:tls').TLSSocket } }).connection.stream;
    return socket.getPeerCertificate().serialNumber.toLowerCase().replace(/^0+/, '');
  } finally {
    await c.end();
  }
}

test('new certificate files and RELOAD on every process: every new client is served the new certificate', async () => {
  const before = await servedSerial();
  const { pair } = await deps.tls.renew(spec.name, identityOf(spec, 'pgbouncer'), spec.tls, { force: true });
  const renewed = certificateInfo(pair.certPem).serialNumber.toLowerCase().replace(/^0+/, '');
  expect(renewed).not.toBe(before);
  await installPgbouncerTls(deps, spec);
  await reloadPgbouncer(deps, spec);
  // Many connections: the kernel spreads them over the three processes.
  const served = new Set<string>();
  for (let i = 0; i < 30; i++) served.add(await servedSerial());
  expect([...served]).toEqual([renewed]);
});
