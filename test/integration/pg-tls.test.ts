/**
 * TLS on every hop to and between the PostgreSQL members, on real containers (the Citus under
 * test: the double by default, real Citus with CITUSCTL_IMAGE_POSTGRES):
 *  - every member serves the certificate the cluster's CA issued for it; replication runs over TLS
 *    (verify-full in primary_conninfo); Citus's node_conninfo is verify-full and its node
 *    connections work with it;
 *  - psql with verify-full through 127.0.0.1 works as `citusctl status` prints it, and psql
 *    without TLS is refused by every member ("no pg_hba.conf entry ... no encryption");
 *  - a standby stopped (its group paused), an impostor bound to its host port that asks every
 *    client for a password: `citusctl status`, `citusctl health` and the monitor's probes connect
 *    to it and send no password, and health says the certificate (or the missing TLS) was refused;
 *  - installMemberTls (renewal): a new certificate in the running member, the key postgres' own
 *    (0600), served after pg_reload_conf.
 * Ports 31560-31564; embedded Temporal on 32560.
 * Needs: `npm run build`, Docker, psql on the host, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import Docker from 'dockerode';
import { installMemberTls } from '../../activities/members/member-tls';
import { memberIdentityId, tlsIdentities } from '../../common/tls-identities';
import { TlsStore } from '../../lib/tls/tls-store';
import type { HealthReport } from '../../common/health-report';
import { caPath, layout, makeCluster, memberSsl, runCli, sleep, su, withMonitor } from './support/cluster';
import { cliJson, connectOutcome, containerOf, expectStreaming, killMember, waitFor } from './support/failover';
import { startImpostor } from './support/impostor';
import { upClusterForFile } from './support/up-cluster';

jest.setTimeout(10 * 60_000);

const c = withMonitor(
  makeCluster(
    layout({
      name: 'it-pgtls',
      basePort: 31560,
      temporalPort: 32560,
      rows: 100,
      shardCount: 4,
      coordinatorStandby: false,
      workers: ['g1'],
    }),
    32560,
  ),
);
const port = (member: string) => c.spec.members.find((m) => m.name === member)!.port;
const store = () => new TlsStore(c.stateDir);
const pgpass = () => path.join(c.stateDir, 'clusters', c.name, 'pgpass');

/** The certificate a member serves on its published port (PostgreSQL's SSLRequest, then TLS verify-full). */
async function servedCertificate(member: string): Promise<string> {
  const raw = net.connect({ host: '127.0.0.1', port: port(member) });
  await new Promise<void>((resolve, reject) => raw.once('connect', resolve).once('error', reject));
  raw.write(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]));
  const answer = await new Promise<string>((resolve) => raw.once('data', (d: Buffer) => resolve(d.toString())));
  expect(answer).toBe('S');
  const { ca, servername } = memberSsl(c, member);
  const secure = tls.connect({ socket: raw, ca, servername });
  await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
  const fingerprint = secure.getPeerCertificate().fingerprint256;
  secure.destroy();
  return fingerprint;
}

async function storedCertificate(member: string): Promise<string> {
  return new X509Certificate((await store().read(c.name, memberIdentityId(member)))!.certPem).fingerprint256;
}

function psql(conninfo: string): { code: number | null; out: string } {
  const r = spawnSync('psql', [conninfo, '-XAtqc', 'SELECT 1'], {
    env: { PATH: process.env.PATH, PGPASSFILE: pgpass(), PGCONNECT_TIMEOUT: '5' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

async function healthDoc(): Promise<HealthReport> {
  const r = await runCli(['health', '--json', '-c', c.specFile], c.env, 180_000);
  return JSON.parse(r.stdout) as HealthReport;
}

describe('TLS on every hop to the PostgreSQL members', () => {
  const t = upClusterForFile(c, {
    ready: { what: 'the monitor to probe', until: async (t) => (await t.status()).lastProbeAt },
  });

  it("every member serves its certificate from the cluster's CA; replication and Citus use verify-full", async () => {
    for (const m of c.spec.members) {
      expect({ member: m.name, served: await servedCertificate(m.name) }).toEqual({
        member: m.name,
        served: await storedCertificate(m.name),
      });
      const settings = await su(c, m.name, async (cl) =>
        Object.fromEntries(
          (
            await cl.query<{ name: string; setting: string }>(
              "SELECT name, setting FROM pg_settings WHERE name IN ('ssl', 'ssl_cert_file', 'citus.node_conninfo')",
            )
          ).rows.map((r) => [r.name, r.setting]),
        ),
      );
      expect(settings).toMatchObject({ ssl: 'on', ssl_cert_file: '/citusctl/tls/server.crt' });
      expect(settings['citus.node_conninfo']).toMatch(/sslmode=verify-full sslrootcert=\/citusctl\/tls\/ca\.crt/);
    }
    // The walsender's connection is TLS; the standby's conninfo says verify-full.
    const walsenders = await su(
      c,
      'g1-a',
      async (cl) =>
        (
          await cl.query<{ app: string; ssl: boolean }>(
            'SELECT r.application_name AS app, s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)',
          )
        ).rows,
    );
    expect(walsenders).toEqual([{ app: 'g1-b', ssl: true }]);
    const receiver = await su(
      c,
      'g1-b',
      async (cl) => (await cl.query<{ c: string }>('SELECT conninfo AS c FROM pg_stat_wal_receiver')).rows[0]?.c,
    );
    expect(receiver).toMatch(/sslmode=verify-full/);
    expect(receiver).toMatch(/sslrootcert=\/citusctl\/tls\/ca\.crt/);
    // Citus's own connection to a node, with node_conninfo's verify-full.
    expect(
      await su(
        c,
        'coord-a',
        async (cl) =>
          (await cl.query<{ ok: boolean }>("SELECT citus_check_connection_to_node('g1-a', 5432) AS ok")).rows[0]!.ok,
      ),
    ).toBe(true);
  });

  it('psql: verify-full through 127.0.0.1 as status prints it; without TLS every member refuses', async () => {
    const st = await cliJson<{ caPath: string }>(c, ['status']);
    expect(st.caPath).toBe(caPath(c));
    const human = (await runCli(['status', '-c', c.specFile], c.env, 60_000)).stdout;
    expect(human).toContain(`ca: ${caPath(c)}`);
    expect(human).toContain(
      `clients: psql "host=127.0.0.1 port=${c.spec.pgbouncer.port} dbname=postgres user=app sslmode=verify-full ` +
        `sslrootcert=${caPath(c)}"`,
    );
    for (const m of c.spec.members) {
      const base = `host=127.0.0.1 port=${m.port} dbname=postgres user=postgres`;
      expect({ member: m.name, ...psql(`${base} sslmode=verify-full sslrootcert=${caPath(c)}`) }).toEqual({
        member: m.name,
        code: 0,
        out: '1',
      });
      const plain = psql(`${base} sslmode=disable`);
      expect({ member: m.name, code: plain.code }).toEqual({ member: m.name, code: 2 });
      expect(plain.out).toMatch(/no pg_hba\.conf entry for host .* no encryption/);
    }
  });

  it("an impostor on a stopped standby's port gets no password from status, health or the monitor", async () => {
    await cliJson(c, ['pause', '--group', 'g1', '--reason', 'impostor test']);
    await killMember(c, 'g1-b');
    // The best an impostor can do: a certificate with the member's names, from a CA of its own.
    const foreignRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-impostor-'));
    const identity = tlsIdentities(c.spec).find((i) => i.id === memberIdentityId('g1-b'))!;
    const foreign = await new TlsStore(foreignRoot).ensure(c.name, identity, c.spec.tls);
    const withCert = await startImpostor({ port: port('g1-b'), cert: foreign });
    let report: HealthReport;
    try {
      await runCli(['status', '-c', c.specFile], c.env, 60_000);
      report = await healthDoc();
      await sleep(5000); // the monitor's probes meanwhile
      // The monitor saw through it too: g1-b is down, not answering.
      expect((await t.status()).groups.g1?.members['g1-b']).toBe('exited');
    } finally {
      await withCert.close();
      fs.rmSync(foreignRoot, { recursive: true, force: true });
    }
    expect(withCert.connections).toBeGreaterThanOrEqual(3);
    expect({ startups: withCert.startups, passwords: withCert.passwords.length }).toEqual({
      startups: 0,
      passwords: 0,
    });
    expect(report.members.find((m) => m.name === 'g1-b')?.error).toMatch(
      /certificate does not prove it is g1-b of this cluster .*no password was sent/,
    );

    // Without TLS: it asks for a cleartext password at once.
    const plain = await startImpostor({ port: port('g1-b') });
    try {
      report = await healthDoc();
      await sleep(3000);
    } finally {
      await plain.close();
    }
    expect(plain.connections).toBeGreaterThanOrEqual(1);
    expect(plain.passwords).toEqual([]);
    expect(report.members.find((m) => m.name === 'g1-b')?.error).toMatch(/does not offer TLS, so it cannot be g1-b/);

    await cliJson(c, ['resume', '--group', 'g1']);
    await waitFor(
      'g1-b restarted by the monitor',
      async () =>
        (await new Docker().getContainer(containerOf(c, 'g1-b')).inspect()).State.Running ? true : undefined,
      60_000,
      250,
    );
    await waitFor(
      'g1-b to answer in recovery',
      async () => ((await connectOutcome(c, 'g1-b')).inRecovery === true ? true : undefined),
      60_000,
      250,
    );
    await expectStreaming(c, 'g1-b', 'g1-a');
  });

  it('installMemberTls: a new certificate in a running member, key owned by postgres, served on reload', async () => {
    const identity = tlsIdentities(c.spec).find((i) => i.id === memberIdentityId('g1-a'))!;
    const before = await servedCertificate('g1-a');
    const { renewed } = await store().renew(c.name, identity, c.spec.tls, { force: true });
    expect(renewed).toBe(true);
    const docker = new Docker();
    expect(await installMemberTls({ docker, tls: store() }, c.spec, 'g1-a')).toEqual({ running: true });
    expect(await installMemberTls({ docker, tls: store() }, c.spec, 'g1-a')).toEqual({ running: true }); // again: same
    const r = spawnSync(
      'docker',
      [
        'exec',
        containerOf(c, 'g1-a'),
        'stat',
        '-c',
        '%U:%a %n',
        ...['server.key', 'server.crt', 'ca.crt'].map((f) => `/citusctl/tls/${f}`),
      ],
      { encoding: 'utf8' },
    );
    expect(r.stdout.trim().split('\n')).toEqual([
      'postgres:600 /citusctl/tls/server.key',
      'postgres:644 /citusctl/tls/server.crt',
      'postgres:644 /citusctl/tls/ca.crt',
    ]);
    await su(c, 'g1-a', (cl) => cl.query('SELECT pg_reload_conf()'));
    await waitFor(
      'g1-a to serve the new certificate',
      async () => ((await servedCertificate('g1-a')) === (await storedCertificate('g1-a')) ? true : undefined),
      10_000,
      200,
    );
    expect(await storedCertificate('g1-a')).not.toBe(before);
    await expectStreaming(c, 'g1-b', 'g1-a');
  });
});
