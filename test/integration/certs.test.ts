/**
 * Certificate rotation on a running cluster, through the built CLI (coord-a/coord-b, g1-a/g1-b;
 * ports 31550-31559), with the monitor and its schedules as `up` makes them:
 * - `up` creates the Schedule `certs-<cluster>` (daily) beside `health-<cluster>`.
 * - `citusctl certs rotate --force` while numbered writers insert through PgBouncer: 0 client
 *   errors, every acknowledged row present; every container holds the store's new files (the key
 *   still readable by its server only); every server presents the new certificate, read with
 *   `openssl s_client` (`-starttls postgres` for PostgreSQL and PgBouncer, plain TLS for etcd) and
 *   compared with the store's serial.
 * - `citusctl certs rotate --ca`: the same under a new CA; the trust bundle ends with the new CA only.
 * - `citusctl certs` lists every certificate with its days left.
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { numberedWriters } from './support/numbered-writers';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tlsTargets, type TlsTarget } from '../../common/certificates';
import { TLS_FILES } from '../../lib/tls/cluster-tls';
import { normalSerial } from '../../lib/tls/served-certificate';
import { certificateInfo, splitPem } from '../../lib/tls/x509';
import {
  citusVersion,
  destroyCluster,
  docker,
  layout,
  logCitus,
  makeCluster,
  su,
  temporalOn,
  upJson,
  withMonitor,
} from './support/cluster';
import { execIn } from '../../lib/docker/docker-helpers';
import { acquireRunLock, cliJson, livePrimaries, removeLeftovers, type GroupRunJson } from './support/failover';

jest.setTimeout(12 * 60_000);

const WRITES = 'certs_writes';
const c = withMonitor(
  makeCluster(
    layout({ name: 'it-certs', basePort: 31550, temporalPort: 31559, rows: 200, shardCount: 4, workers: ['g1'] }),
    31559,
  ),
);
const tlsDir = () => path.join(c.stateDir, 'clusters', c.name, 'tls');
const TARGETS = tlsTargets(c.spec);

interface RotateJson {
  cluster: string;
  newCa?: string;
  retiredCas: number;
  certificates: { id: string; renewed: boolean; serial: string; notAfter: string }[];
  installed: { id: string; state: string; written: string[]; reloaded: string; served?: string }[];
}

const storeCert = (id: string) => splitPem(fs.readFileSync(path.join(tlsDir(), `${id}.pem`), 'utf8'))[0]!;
const storeSerial = (id: string) => normalSerial(certificateInfo(storeCert(id)).serialNumber);

/** The serial `openssl s_client` reads from the server's handshake (null when it presents none). */
function opensslSerial(t: TlsTarget): string | null {
  const port =
    t.role === 'postgres'
      ? c.spec.members.find((m) => m.name === t.server)!.port
      : t.role === 'pgbouncer'
        ? c.spec.pgbouncer.port
        : c.spec.etcd.port;
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', t.server];
  if (t.role !== 'etcd') args.push('-starttls', 'postgres');
  else {
    // etcd requires a client certificate: the orchestrator's, from the store.
    const pem = fs.readFileSync(path.join(tlsDir(), 'client-citusctl.pem'), 'utf8');
    const file = path.join(c.dir, 'client-citusctl.pem');
    fs.writeFileSync(file, pem, { mode: 0o600 });
    args.push('-cert', file, '-key', file);
  }
  const hs = spawnSync('openssl', args, { input: '', encoding: 'utf8', timeout: 10_000 });
  const cert = hs.stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
  if (!cert) return null;
  const x = spawnSync('openssl', ['x509', '-noout', '-serial'], { input: cert, encoding: 'utf8' });
  return normalSerial(x.stdout.trim().replace(/^serial=/, ''));
}

/** Row ids of each load start above the previous load's. */
let idBase = 0;

/** `citusctl certs rotate <flags>` under the writers; checks 0 errors and 0 lost rows. */
async function rotateUnderLoad(flags: string[]): Promise<RotateJson> {
  const writers = numberedWriters(c, WRITES, 4, (idBase += 1_000_000));
  let r: GroupRunJson<RotateJson>;
  try {
    await writers.waitFor(40);
    r = await cliJson<GroupRunJson<RotateJson>>(c, ['certs', 'rotate', ...flags], { timeoutMs: 300_000 });
    await writers.waitFor(40);
  } finally {
    await writers.stop();
  }
  console.log(
    `[certs] rotate ${flags.join(' ')}: ${writers.acked.length} rows acknowledged through PgBouncer, ` +
      `${writers.errors.length} errors; steps ${r!.steps.map((s) => `${s.name}=${s.detail ?? s.state}`).join('; ')}`,
  );
  expect(writers.errors).toEqual([]);
  const coordinator = (await livePrimaries(c)).coordinator!;
  const present = new Set(
    await su(c, coordinator, async (cl) =>
      (await cl.query<{ id: string }>(`SELECT id FROM ${WRITES}`)).rows.map((x) => Number(x.id)),
    ),
  );
  expect(writers.acked.filter((id) => !present.has(id))).toEqual([]);
  return r!.result;
}

/** Every container holds the store's bundle, certificate and key; the key owned by its server's user, 0600. */
async function expectContainersMatchStore(): Promise<void> {
  const trust = fs.readFileSync(path.join(tlsDir(), 'ca.crt'), 'utf8');
  for (const t of TARGETS) {
    const read = async (file: string) => (await execIn(docker, t.container, ['cat', file], '0')).stdout;
    expect({ id: t.id, ca: await read(TLS_FILES.ca) }).toEqual({ id: t.id, ca: trust });
    expect({ id: t.id, cert: await read(TLS_FILES.cert) }).toEqual({ id: t.id, cert: storeCert(t.id) });
    const stat = await execIn(docker, t.container, ['stat', '-c', '%U %a', TLS_FILES.key], '0');
    const owner = t.role === 'etcd' ? 'etcd' : 'postgres';
    expect({ id: t.id, key: stat.stdout.trim() }).toEqual({ id: t.id, key: `${owner} 600` });
  }
}

/** Every server presents the store's certificate (openssl s_client). Needs the servers to use TLS_FILES. */
function expectServedFromStore(): void {
  const served = TARGETS.map((t) => ({ id: t.id, serial: opensslSerial(t) }));
  expect(served).toEqual(TARGETS.map((t) => ({ id: t.id, serial: storeSerial(t.id) })));
}

describe('certificate rotation under load', () => {
  let releaseLock: (() => void) | undefined;

  beforeAll(async () => {
    releaseLock = await acquireRunLock(c.name);
    await removeLeftovers(c);
    const up = await upJson(c);
    expect(up.ok).toBe(true);
    logCitus(await citusVersion(c), `cluster ${c.name}`);
    const coordinator = (await livePrimaries(c)).coordinator!;
    await su(c, coordinator, async (cl) => {
      await cl.query(`CREATE TABLE IF NOT EXISTS ${WRITES} (id bigint PRIMARY KEY, at timestamptz DEFAULT now())`);
      await cl.query(`GRANT SELECT, INSERT ON ${WRITES} TO app`);
    });
  });

  afterAll(async () => {
    try {
      await destroyCluster(c);
    } finally {
      releaseLock?.();
    }
  });

  it('up made the schedule certs-<cluster> (daily, rotateCertificates)', async () => {
    const temporal = temporalOn(c.temporalPort, 30_000);
    const r = await temporal(['schedule', 'describe', '--schedule-id', `certs-${c.name}`, '--output', 'json']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(JSON.stringify(d)).toContain('rotateCertificates');
    expect(JSON.stringify(d)).toMatch(/86400/); // every 24 h
  });

  it('certs rotate --force: 0 client errors, 0 lost; every container holds the new files', async () => {
    const before = Object.fromEntries(TARGETS.map((t) => [t.id, storeSerial(t.id)]));
    const r = await rotateUnderLoad(['--force']);
    expect(r.certificates.every((x) => x.renewed)).toBe(true);
    for (const t of TARGETS)
      expect({ id: t.id, changed: storeSerial(t.id) !== before[t.id] }).toEqual({ id: t.id, changed: true });
    expect(r.installed.map((i) => i.id).sort()).toEqual(TARGETS.map((t) => t.id).sort());
    await expectContainersMatchStore();
    console.log(`[certs] served after --force: ${r.installed.map((i) => `${i.id}=${i.served ?? '-'}`).join(', ')}`);
  });

  it('every server presents the renewed certificate (openssl s_client)', () => {
    expectServedFromStore();
  });

  it('certs rotate --ca: 0 client errors, 0 lost; every certificate from the new CA, the old CA retired', async () => {
    const oldCa = certificateInfo(fs.readFileSync(path.join(tlsDir(), 'ca.pem'), 'utf8')).serialNumber;
    const r = await rotateUnderLoad(['--ca']);
    expect(r.newCa).toBeTruthy();
    expect(r.newCa).not.toBe(oldCa);
    expect(r.retiredCas).toBe(1);
    const trust = splitPem(fs.readFileSync(path.join(tlsDir(), 'ca.crt'), 'utf8'));
    expect(trust.map((p) => certificateInfo(p).serialNumber)).toEqual([r.newCa]);
    const newCaPem = trust[0]!;
    for (const t of TARGETS)
      expect({ id: t.id, issuer: certificateInfo(storeCert(t.id)).issuer }).toEqual({
        id: t.id,
        issuer: certificateInfo(newCaPem).subject,
      });
    await expectContainersMatchStore();
    expectServedFromStore();
  });

  it('certs lists every certificate with its days left', async () => {
    const r = await cliJson<{ certificates: { id: string; daysLeft: number }[]; caPath: string }>(c, ['certs']);
    const ids = r.certificates.map((x) => x.id);
    expect(ids).toEqual(expect.arrayContaining(['ca', 'client-citusctl', ...TARGETS.map((t) => t.id)]));
    for (const x of r.certificates.filter((y) => y.id !== 'ca')) expect(x.daysLeft).toBeGreaterThanOrEqual(89);
    expect(r.caPath).toBe(path.join(tlsDir(), 'ca.crt'));
  });
});
