import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseSpec } from '../../common/spec';
import { etcdClientOptions } from '../../lib/etcd-auth';
import { SecretStore } from '../../lib/secrets';
import { etcdConnector } from '../../lib/etcd-connector';

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

describe('etcd client options', () => {
  test('authenticated as root when a password is known, plain otherwise', () => {
    expect(etcdClientOptions(2379, 'pw')).toMatchObject({
      hosts: 'http://127.0.0.1:2379',
      auth: { username: 'root', password: 'pw' },
    });
    expect(etcdClientOptions(2379, undefined).auth).toBeUndefined();
  });
});

describe('etcdConnector', () => {
  let root: string;
  let store: SecretStore;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-etcdconn-'));
    store = new SecretStore(root);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('one cached client per cluster; a new one when the secrets change', async () => {
    await store.ensure('a');
    await store.ensure('b');
    const conn = etcdConnector(store);
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
});
