/**
 * etcd as a cluster runs it (TLS only, client certificates signed by the cluster's CA, root's
 * password), against a real etcd with its own CA (support/tls-etcd.ts; container
 * citusctl-it-etcd-tls-etcd, port 31962):
 * - plain HTTP and TLS without a client certificate, or with one another CA signed, are refused;
 * - a server presenting a member's certificate (which names 127.0.0.1 too) is refused before any
 *   request (port 31963);
 * - citusctl's certificate with root's password works; with a wrong password it fails; another
 *   certificate of the cluster (a member's) without the password may do nothing;
 * - a renewed certificate is served from the next connection on, without a restart; a rotated CA
 *   once etcd restarts (what the rotation, activities/tls/rotation.ts, relies on).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Etcd3 } from 'etcd3';
import * as http from 'node:http';
import * as tls from 'node:tls';
import { installEtcdTls } from '../../activities/setup/etcd-tls';
import { memberIdentityId } from '../../common/tls-identities';
import { etcdClientOptions, secureEtcd } from '../../lib/etcd-auth';
import { identityOf, lifetimesOf } from '../../lib/tls/cluster-tls';
import { orchestratorTls, type ClientTls } from '../../lib/tls/orchestrator-tls';
import { certificateInfo, createCa, issueCertificate } from '../../lib/tls/x509';
import { docker, sleep } from './support/cluster';
import { startTlsEtcd, type TlsEtcd } from './support/tls-etcd';

jest.setTimeout(3 * 60_000);

const PORT = 31962;
/** A TLS listener with a member's certificate, in etcd's place. */
const IMPOSTOR_PORT = 31963;
const PASSWORD = 'it-etcd-tls-password';

/** The call's error message, or 'accepted'. */
async function outcome(op: () => Promise<unknown>): Promise<string> {
  try {
    await op();
    return 'accepted';
  } catch (err) {
    return (err as Error).message;
  }
}

async function withClient<T>(options: ReturnType<typeof etcdClientOptions>, fn: (c: Etcd3) => Promise<T>): Promise<T> {
  const client = new Etcd3(options);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** The serial number of the certificate etcd presents on a new connection (with a client certificate). */
function servedSerial(creds: ClientTls): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port: PORT, ca: creds.ca, cert: creds.cert, key: creds.key },
      () => {
        const serial = socket.getPeerCertificate().serialNumber;
        socket.end();
        resolve(serial);
      },
    );
    socket.on('error', reject);
  });
}

/** A plain HTTP request to etcd's port: its status and body, or the connection's error. */
function plainHttp(pathname: string): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: PORT, path: pathname, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve(`error ${err.message}`));
  });
}

const hexSerial = (pem: string) => certificateInfo(pem).serialNumber.toUpperCase().replace(/^0+/, '');

describe('etcd over TLS with client certificates', () => {
  let etcd: TlsEtcd;
  const options = (o: { password?: string; creds?: ClientTls }) =>
    etcdClientOptions(PORT, { tls: o.creds ?? etcd.tls, ...(o.password ? { password: o.password } : {}) });

  beforeAll(async () => {
    etcd = await startTlsEtcd('it-etcd-tls', PORT);
    for (let i = 0; ; i++) {
      try {
        expect(await secureEtcd(PORT, PASSWORD, etcd.tls)).toBe('secured');
        break;
      } catch (err) {
        if (i > 50) throw err;
        await sleep(200);
      }
    }
  });

  afterAll(async () => {
    await etcd?.remove();
  });

  it('refuses plain HTTP, TLS without a client certificate and a certificate of another CA', async () => {
    const plain = await plainHttp('/version');
    expect(plain).not.toMatch(/etcdserver/);
    expect(plain).toMatch(/^(400|error)/);
    const http2 = await outcome(() =>
      withClient({ hosts: `http://127.0.0.1:${PORT}`, dialTimeout: 2000 }, (c) => c.get('/x').string()),
    );
    expect(http2).not.toBe('accepted');

    const noCert = await outcome(() =>
      withClient(
        {
          hosts: `https://127.0.0.1:${PORT}`,
          dialTimeout: 2000,
          credentials: { rootCertificate: Buffer.from(etcd.tls.ca) },
        },
        (c) => c.get('/x').string(),
      ),
    );
    expect(noCert).not.toBe('accepted');

    const foreignCa = await createCa('not the cluster CA', 1);
    const foreign = await issueCertificate(foreignCa, {
      commonName: 'root',
      usages: ['client'],
      dnsNames: [],
      ipAddresses: [],
      days: 1,
    });
    const foreignClient = { ca: etcd.tls.ca, cert: foreign.certPem, key: foreign.keyPem };
    expect(
      await outcome(() =>
        withClient(options({ creds: foreignClient, password: PASSWORD }), (c) => c.get('/x').string()),
      ),
    ).not.toBe('accepted');
  });

  it("refuses a server with another certificate of the cluster (a member's): no request reaches it", async () => {
    const member = await etcd.store.read(etcd.spec.name, memberIdentityId('g1-a'));
    let bytes = 0;
    const sockets = new Set<tls.TLSSocket>();
    const impostor = tls.createServer(
      { cert: member!.certPem, key: member!.keyPem, ca: etcd.tls.ca, requestCert: true, ALPNProtocols: ['h2'] },
      (socket) => {
        sockets.add(socket);
        socket.on('data', (d: Buffer) => (bytes += d.length)).on('error', () => undefined);
      },
    );
    impostor.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => impostor.listen(IMPOSTOR_PORT, '127.0.0.1', resolve));
    try {
      const client = new Etcd3(etcdClientOptions(IMPOSTOR_PORT, { tls: etcd.tls }));
      try {
        expect(await outcome(() => client.get('/x').string())).toMatch(/Host: etcd\. is not in the cert's altnames/);
      } finally {
        client.close();
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => impostor.close(resolve));
    }
    expect(bytes).toBe(0);
  });

  it("citusctl's certificate with root's password reads and writes; a wrong password fails", async () => {
    await withClient(options({ password: PASSWORD }), async (c) => {
      await c.put('/citusctl/it/x').value('1');
      expect(await c.get('/citusctl/it/x').string()).toBe('1');
    });
    expect(await outcome(() => withClient(options({ password: 'wrong' }), (c) => c.get('/x').string()))).toMatch(
      /authentication failed/,
    );
  });

  it("a member's certificate (signed by the cluster's CA) without the password may do nothing", async () => {
    const member = await etcd.store.read(etcd.spec.name, memberIdentityId('g1-a'));
    const creds = { ca: etcd.tls.ca, cert: member!.certPem, key: member!.keyPem };
    expect(
      await outcome(() => withClient(options({ creds }), async (c) => c.put('/citusctl/it/x').value('2'))),
    ).toMatch(/permission denied|user name (is empty|not found)/);
    expect(await outcome(() => withClient(options({ creds }), (c) => c.get('/citusctl/it/x').string()))).toMatch(
      /permission denied|user name (is empty|not found)/,
    );
  });

  it("citusctl's certificate alone authenticates as root (its common name)", async () => {
    expect(await withClient(options({}), (c) => c.get('/citusctl/it/x').string())).toBe('1');
  });

  it('serves a renewed certificate from the next connection on, without a restart', async () => {
    const startedAt = (await docker.getContainer(etcd.name).inspect()).State.StartedAt;
    const before = await servedSerial(etcd.tls);
    const { pair } = await etcd.store.renew(etcd.spec.name, identityOf(etcd.spec, 'etcd'), lifetimesOf(etcd.spec), {
      force: true,
    });
    expect(hexSerial(pair.certPem)).not.toBe(before.replace(/^0+/, ''));
    await withClient(options({ password: PASSWORD }), async (long) => {
      expect(await long.get('/citusctl/it/x').string()).toBe('1');
      await installEtcdTls({ docker, tls: etcd.store }, etcd.spec);
      expect((await servedSerial(etcd.tls)).replace(/^0+/, '')).toBe(hexSerial(pair.certPem));
      expect(await long.get('/citusctl/it/x').string()).toBe('1'); // the open connection goes on
    });
    expect(await withClient(options({ password: PASSWORD }), (c) => c.get('/citusctl/it/x').string())).toBe('1');
    expect((await docker.getContainer(etcd.name).inspect()).State.StartedAt).toBe(startedAt);
  });

  it('trusts a client certificate of a rotated CA once restarted (it reads its CAs at start)', async () => {
    await etcd.store.rotateCa(etcd.spec.name, lifetimesOf(etcd.spec));
    for (const id of ['etcd', 'client-citusctl'])
      await etcd.store.renew(etcd.spec.name, identityOf(etcd.spec, id), lifetimesOf(etcd.spec));
    await installEtcdTls({ docker, tls: etcd.store }, etcd.spec);
    const rotated = orchestratorTls(etcd.store, etcd.spec.name)!;
    const read = () =>
      withClient(options({ creds: rotated, password: PASSWORD }), (c) => c.get('/citusctl/it/x').string());
    expect(await outcome(read)).toMatch(/unknown ca/);
    await docker.getContainer(etcd.name).restart({ t: 10 });
    let after = 'not tried';
    for (let i = 0; i < 50 && after !== 'accepted'; i++) {
      after = await outcome(read);
      if (after !== 'accepted') await sleep(200);
    }
    expect(after).toBe('accepted');
  });
});
