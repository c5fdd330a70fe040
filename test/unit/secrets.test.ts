import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SecretStore, upgradeSecrets, type BaseSecrets } from '../../lib/secrets';
import { scramVerifier } from '../../lib/scram';

const OLD: BaseSecrets = { superuserPassword: 'su-pw', replicationPassword: 'repl-pw', appPassword: 'app-pw', appScramVerifier: scramVerifier('app-pw') };

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
    const passwords = [s.superuserPassword, s.replicationPassword, s.appPassword, s.etcdRootPassword, s.pgbouncerAdminPassword];
    expect(new Set(passwords).size).toBe(5);
    for (const p of passwords) expect(p.length).toBeGreaterThanOrEqual(32);
    expect(s.pgbouncerAdminScramVerifier).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(fs.statSync(file('c1')).mode & 0o777).toBe(0o600);
    expect(await store.ensure('c1')).toEqual(s);
  });

  test('an older file gets the new fields filled in, keeping every old field, atomically and once', async () => {
    writeOld('old', { ...OLD, someFutureField: 'kept' });
    const upgraded = await Promise.all([store.ensure('old'), store.ensure('old'), store.ensure('old')]);
    expect(upgraded[1]).toEqual(upgraded[0]);
    expect(upgraded[2]).toEqual(upgraded[0]);
    const s = upgraded[0]!;
    expect(s).toMatchObject({ ...OLD, someFutureField: 'kept' });
    expect(s.etcdRootPassword).toBeTruthy();
    expect(s.pgbouncerAdminPassword).toBeTruthy();
    expect(s.etcdRootPassword).not.toBe(s.pgbouncerAdminPassword);
    expect(JSON.parse(fs.readFileSync(file('old'), 'utf8'))).toEqual(s);
    expect(fs.statSync(file('old')).mode & 0o777).toBe(0o600);
    // No temp file left behind.
    expect(fs.readdirSync(path.dirname(file('old')))).toEqual(['secrets.json']);
    expect(await store.ensure('old')).toEqual(s);
  });

  test('a partly upgraded file keeps the fields it has', async () => {
    writeOld('half', { ...OLD, etcdRootPassword: 'etcd-already' });
    const s = await store.ensure('half');
    expect(s.etcdRootPassword).toBe('etcd-already');
    expect(s.pgbouncerAdminPassword).toBeTruthy();
  });

  test('read and readSync return the file as stored, undefined without one', async () => {
    expect(await store.read('none')).toBeUndefined();
    expect(store.readSync('none')).toBeUndefined();
    writeOld('r', OLD);
    expect(await store.read('r')).toEqual(OLD);
    expect(store.readSync('r')).toEqual(OLD);
  });

  test('the host pgpass never carries the etcd or PgBouncer admin password', async () => {
    const s = await store.ensure('pp');
    const pgpass = fs.readFileSync(await store.writeHostPgpass('pp', { postgres: [5432], pgbouncer: 6432 }), 'utf8');
    expect(pgpass).not.toContain(s.etcdRootPassword);
    expect(pgpass).not.toContain(s.pgbouncerAdminPassword);
  });
});

describe('upgradeSecrets', () => {
  test('deterministic for the same old secrets (racing upgraders write the same file), different for others', () => {
    expect(upgradeSecrets(OLD)).toEqual(upgradeSecrets(OLD));
    const other = upgradeSecrets({ ...OLD, superuserPassword: 'another' });
    expect(other.etcdRootPassword).not.toBe(upgradeSecrets(OLD).etcdRootPassword);
  });

  test('the admin verifier belongs to the admin password', () => {
    const s = upgradeSecrets(OLD);
    const salt = Buffer.from(s.pgbouncerAdminScramVerifier.split('$')[1]!.split(':')[1]!, 'base64');
    expect(scramVerifier(s.pgbouncerAdminPassword, salt)).toBe(s.pgbouncerAdminScramVerifier);
  });
});
