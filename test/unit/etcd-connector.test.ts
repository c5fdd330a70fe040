import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseSpec } from '../../common/spec';
import { etcdClientOptions } from '../../lib/etcd-auth';
import { SecretStore } from '../../lib/secrets';
import { etcdConnector, etcdTargetOf } from '../../lib/etcd-connector';
import { ensureClusterTls, identityOf, lifetimesOf } from '../../lib/tls/cluster-tls';
import { ORCHESTRATOR_IDENTITY, orchestratorTls } from '../../lib/tls/orchestrator-tls';
import { TlsStore } from '../../lib/tls/tls-store';

const spec = (name: string, port = 2379) =>
  parseSpec({
    name,
    workers: ['g1'],
    members: [
      { name: 'c-a', group: 'coordinator', port: 5432 },
      { name: 'g1-a', group: 'g1', port: 5433 },
    ],
    etcd: { port },
  });

const TLS = { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM' };

describe('etcd client options', () => {
  test('TLS to 127.0.0.1 with the trust bundle and the client certificate; root when a password is known', () => {
    const options = etcdClientOptions(2379, { tls: TLS, password: 'pw' });
    expect(options).toMatchObject({
      hosts: 'https://127.0.0.1:2379',
      auth: { username: 'root', password: 'pw' },
      credentials: { rootCertificate: Buffer.from('CA PEM'), certChain: Buffer.from('CERT PEM') },
    });
    expect(options.credentials?.privateKey?.toString()).toBe('KEY PEM');
    expect(etcdClientOptions(2379, { tls: TLS }).auth).toBeUndefined();
  });

  test('without TLS material still https, with no certificate of the cluster (etcd refuses it)', () => {
    const options = etcdClientOptions(2379, { tls: undefined, password: 'pw' });
    expect(options.hosts).toBe('https://127.0.0.1:2379');
    expect(options.credentials).toBeUndefined();
  });

  test("every member's endpoint, each checked for the name etcd; a call moves on only with several", () => {
    const one = etcdClientOptions(['https://10.0.0.1:2379'], { tls: TLS });
    const three = etcdClientOptions(['https://10.0.0.1:2379', 'https://10.0.0.2:2379', 'https://10.0.0.3:2379'], {
      tls: TLS,
    });
    expect(one.hosts).toBe('https://10.0.0.1:2379');
    expect(three.hosts).toEqual(['https://10.0.0.1:2379', 'https://10.0.0.2:2379', 'https://10.0.0.3:2379']);
    expect(three.grpcOptions?.['grpc.ssl_target_name_override']).toBe('etcd');
    expect(one.faultHandling?.global?.constructor.name).toBe('NoopPolicy');
    expect(three.faultHandling?.global?.constructor.name).toBe('RetryPolicy');
  });
});

describe('etcdTargetOf', () => {
  test('one host: the port on 127.0.0.1, as always', () => {
    expect(etcdTargetOf(spec('one', 23790))).toBe(23790);
  });

  test('three hosts: every member at its host address', () => {
    const three = parseSpec({
      name: 'three',
      hosts: ['h1', 'h2', 'h3'].map((h, i) => ({ name: h, endpoint: `ssh://docker@10.0.0.${i + 1}` })),
    });
    expect(etcdTargetOf(three)).toEqual(['https://10.0.0.1:2379', 'https://10.0.0.2:2379', 'https://10.0.0.3:2379']);
  });

  test('one etcd member on another host: its endpoint there', () => {
    const remote = parseSpec({
      name: 'remote',
      hosts: ['h1', 'h2'].map((h, i) => ({ name: h, endpoint: `ssh://docker@10.0.0.${i + 1}` })),
      etcd: { hosts: ['h2'] },
    });
    expect(etcdTargetOf(remote)).toEqual(['https://10.0.0.2:2379']);
  });
});

describe('etcdConnector', () => {
  let root: string;
  let store: SecretStore;
  let tls: TlsStore;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-etcdconn-'));
    store = new SecretStore(root);
    tls = new TlsStore(root);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('one cached client per cluster; a new one when the secrets change', async () => {
    await store.ensure('a');
    await store.ensure('b');
    const conn = etcdConnector(store, tls);
    try {
      const a1 = conn.client(spec('a'));
      expect(conn.client(spec('a'))).toBe(a1);
      expect(conn.client(spec('b'))).not.toBe(a1);
      await store.remove('a'); // down --volumes, then up: new secrets
      await store.ensure('a');
      expect(conn.client(spec('a'))).not.toBe(a1);
    } finally {
      conn.close();
    }
  });

  test("citusctl's client certificate from the store; a new client once it is renewed or the CA rotates", async () => {
    await store.ensure('a');
    const conn = etcdConnector(store, tls);
    try {
      const before = conn.client(spec('a')); // no TLS material yet
      await ensureClusterTls(tls, spec('a'));
      const issued = conn.client(spec('a'));
      expect(issued).not.toBe(before);
      expect(conn.client(spec('a'))).toBe(issued);
      const pair = await tls.read('a', ORCHESTRATOR_IDENTITY);
      expect(orchestratorTls(tls, 'a')).toEqual({ ca: await tls.trust('a'), cert: pair!.certPem, key: pair!.keyPem });

      await tls.renew('a', identityOf(spec('a'), ORCHESTRATOR_IDENTITY), lifetimesOf(spec('a')), { force: true });
      const renewed = conn.client(spec('a'));
      expect(renewed).not.toBe(issued);
      await tls.rotateCa('a', lifetimesOf(spec('a')));
      expect(conn.client(spec('a'))).not.toBe(renewed);
    } finally {
      conn.close();
    }
  });
});
