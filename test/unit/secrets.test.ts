import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SecretStore } from '../../lib/secrets';
import { scramVerifier } from '../../lib/scram';

/** A file with only some of the fields: never written by this citusctl. */
const PARTIAL = {
  superuserPassword: 'su-pw',
  replicationPassword: 'repl-pw',
  appPassword: 'app-pw',
  appScramVerifier: scramVerifier('app-pw'),
};

describe('SecretStore', () => {
  let root: string;
  let store: SecretStore;
  const file = (cluster: string) => path.join(root, 'clusters', cluster, 'secrets.json');
  const writeOld = (cluster: string, content: object) => {
    fs.mkdirSync(path.dirname(file(cluster)), { recursive: true });
    fs.writeFileSync(file(cluster), JSON.stringify(content), { mode: 0o600 });
  };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-secrets-'));
    store = new SecretStore(root);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('a new file has every field, distinct random passwords, mode 0600; concurrent callers agree', async () => {
    const all = await Promise.all([store.ensure('c1'), store.ensure('c1'), store.ensure('c1')]);
    expect(all[1]).toEqual(all[0]);
    expect(all[2]).toEqual(all[0]);
    const s = all[0]!;
    const passwords = [
      s.superuserPassword,
      s.replicationPassword,
      s.appPassword,
      s.etcdRootPassword,
      s.pgbouncerAdminPassword,
    ];
    expect(new Set(passwords).size).toBe(5);
    for (const p of passwords) expect(p.length).toBeGreaterThanOrEqual(32);
    expect(s.pgbouncerAdminScramVerifier).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(fs.statSync(file('c1')).mode & 0o777).toBe(0o600);
    expect(await store.ensure('c1')).toEqual(s);
  });

  test('an incomplete file is an error naming the missing fields, and is left as is (no new passwords)', async () => {
    writeOld('partial', PARTIAL);
    const before = fs.readFileSync(file('partial'), 'utf8');
    await expect(store.ensure('partial')).rejects.toThrow(
      'secrets.json lacks etcdRootPassword, pgbouncerAdminPassword, pgbouncerAdminScramVerifier: ' +
        'it was not written by citusctl',
    );
    expect(() => store.readSync('partial')).toThrow(/lacks etcdRootPassword/);
    expect(fs.readFileSync(file('partial'), 'utf8')).toBe(before);
  });

  test('read and readSync return the file as stored, undefined without one', async () => {
    expect(await store.read('none')).toBeUndefined();
    expect(store.readSync('none')).toBeUndefined();
    const s = await store.ensure('r');
    expect(await store.read('r')).toEqual(s);
    expect(store.readSync('r')).toEqual(s);
  });

  test('the host pgpass never carries the etcd or PgBouncer admin password', async () => {
    const s = await store.ensure('pp');
    const pgpass = fs.readFileSync(await store.writeHostPgpass('pp', { postgres: [5432], pgbouncer: 6432 }), 'utf8');
    expect(pgpass).not.toContain(s.etcdRootPassword);
    expect(pgpass).not.toContain(s.pgbouncerAdminPassword);
  });
});
