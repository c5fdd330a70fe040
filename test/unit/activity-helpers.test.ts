import { ApplicationFailure } from '@temporalio/common';
import { parseSpec } from '../../common/spec';
import { classifyPgError, ErrorTypes, fatal, notReady } from '../../lib/errors';
import { IMAGE_ENV, resolveImage, resolveImages, UPSTREAM_IMAGES } from '../../common/images';
import { pgbouncerIni } from '../../activities/setup/pgbouncer';
import { pgHba } from '../../lib/docker/postgres-config';

const baseInput = {
  name: 'demo',
  workers: ['g1'],
  members: [
    { name: 'coord-a', group: 'coordinator', port: 5432 },
    { name: 'g1-a', group: 'g1', port: 5433 },
  ],
};
const spec = parseSpec(baseInput);

/** Non-comment, non-blank lines split into whitespace-separated fields. */
const hbaRules = (hba: string) =>
  hba
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'))
    .map((l) => l.trim().split(/\s+/));

describe('pgHba', () => {
  const cidr = '172.28.5.0/24';
  const rules = hbaRules(pgHba(cidr));

  test('no trust anywhere', () => {
    // Only the comment may mention it; no rule uses it as its method.
    expect(rules.flat()).not.toContain('trust');
    expect(rules.every((r) => ['peer', 'scram-sha-256'].includes(r[r.length - 1]!))).toBe(true);
  });

  test('TCP rules: TLS only, the given CIDR and the node itself (loopback: the rebalancer), scram-sha-256', () => {
    const host = rules.filter((r) => r[0]!.startsWith('host'));
    expect(host.length).toBeGreaterThan(0);
    for (const r of host) {
      expect(r[0]).toBe('hostssl');
      expect([cidr, '127.0.0.1/32', '::1/128']).toContain(r[3]);
      expect(r[4]).toBe('scram-sha-256');
    }
    expect(host.filter((r) => r[3] === cidr).length).toBe(2);
    expect(pgHba(cidr)).not.toMatch(/0\.0\.0\.0\/0|::\/0|\ball\s+all\s+all\b|samehost|samenet/);
  });

  test('replication only for the replication user', () => {
    const repl = rules.filter((r) => r[1] === 'replication');
    expect(repl).toEqual([['hostssl', 'replication', 'replicator', cidr, 'scram-sha-256']]);
  });

  test('local connections: peer only for the superuser, scram for everyone else', () => {
    const local = rules.filter((r) => r[0] === 'local');
    expect(local).toEqual([
      ['local', 'all', 'postgres', 'peer'],
      ['local', 'all', 'all', 'scram-sha-256'],
    ]);
  });
});

describe('pgbouncerIni', () => {
  const ini = pgbouncerIni(spec, 'citusctl-demo-coord-a');
  const setting = (key: string) => new RegExp(`^${key}\\s*=\\s*(.*)$`, 'm').exec(ini)?.[1];

  test('transaction pooling by default', () => {
    expect(setting('pool_mode')).toBe('transaction');
  });

  test('session pooling when the spec asks for it', () => {
    const session = parseSpec({ ...baseInput, pgbouncer: { poolMode: 'session' } });
    expect(/^pool_mode\s*=\s*(\S+)/m.exec(pgbouncerIni(session, 'h'))?.[1]).toBe('session');
  });

  test('the database entry points at the given host on the in-container port', () => {
    expect(setting('postgres')).toBe('host=citusctl-demo-coord-a port=5432 dbname=postgres');
    const other = pgbouncerIni(spec, 'citusctl-demo-coord-b');
    expect(other).toMatch(/^postgres = host=citusctl-demo-coord-b port=5432 /m);
    expect(other).not.toContain('coord-a');
  });

  test('SCRAM auth from a userlist file; listens on 6432 inside the container', () => {
    expect(setting('auth_type')).toBe('scram-sha-256');
    expect(setting('auth_file')).toBe('/citusctl/userlist.txt');
    expect(setting('listen_port')).toBe('6432');
    expect(ini).not.toMatch(/password/i);
  });
});

describe('resolveImage', () => {
  const withImages = parseSpec({ ...baseInput, images: { postgres: 'spec/postgres:1', etcd: 'spec/etcd:1' } });

  test('env > spec > upstream default', () => {
    const env = { [IMAGE_ENV.postgres]: 'env/postgres:2' };
    expect(resolveImage(withImages, 'postgres', env)).toBe('env/postgres:2');
    expect(resolveImage(withImages, 'postgres', {})).toBe('spec/postgres:1');
    expect(resolveImage(spec, 'postgres', {})).toBe(UPSTREAM_IMAGES.postgres);
    expect(resolveImage(spec, 'postgres', env)).toBe('env/postgres:2');
  });

  test('an empty env var does not override', () => {
    expect(resolveImage(withImages, 'postgres', { [IMAGE_ENV.postgres]: '' })).toBe('spec/postgres:1');
  });

  test('each role reads its own env var', () => {
    const env = { CITUSCTL_IMAGE_PGBOUNCER: 'env/bouncer:3' };
    expect(resolveImages(withImages, env)).toEqual({
      postgres: 'spec/postgres:1',
      pgbouncer: 'env/bouncer:3',
      etcd: 'spec/etcd:1',
    });
  });
});

describe('classifyPgError', () => {
  test.each([
    ['28P01', ErrorTypes.Auth],
    ['28000', ErrorTypes.Auth],
    ['42501', ErrorTypes.Auth],
    ['3D000', ErrorTypes.BadConfig],
    ['42601', ErrorTypes.Invariant],
  ])('SQLSTATE %s is non-retryable (%s)', (code, type) => {
    const f = classifyPgError(Object.assign(new Error('nope'), { code }), 'login on g1-a');
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect(f.nonRetryable).toBe(true);
    expect(f.type).toBe(type);
    expect(f.message).toBe('login on g1-a: nope');
  });

  test.each([
    ['ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5433'), { code: 'ECONNREFUSED' })],
    ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    [
      '57P03 cannot_connect_now (starting up)',
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
    ],
    ['no code', new Error('Connection terminated unexpectedly')],
    ['not an Error', 'weird'],
  ])('%s is retryable', (_what, err) => {
    const f = classifyPgError(err, 'ctx');
    expect(f.nonRetryable).toBe(false);
    expect(f.type).toBe(ErrorTypes.NotReady);
    expect(f.message.startsWith('ctx: ')).toBe(true);
  });

  test('an ApplicationFailure passes through unchanged', () => {
    const original = fatal('Conflict', 'already there');
    expect(classifyPgError(original, 'ctx')).toBe(original);
    const retryable = notReady('later');
    expect(classifyPgError(retryable, 'ctx')).toBe(retryable);
  });

  test('fatal() attaches details', () => {
    const f = fatal('BadConfig', 'bad', { problems: ['x'] });
    expect(f).toMatchObject({ type: 'BadConfig', nonRetryable: true, details: [{ problems: ['x'] }] });
  });
});
