/**
 * The S3 backup repository option: the spec's validation (each problem names its field), the
 * credentials file's parsing (an error never repeats a key), the stored access, pgBackRest's
 * configuration for it, and a restored cluster's own prefix.
 */
import type Docker from 'dockerode';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RestorePointRecord } from '../../common/backup-records';
import { preflightRepository } from '../../client/preflight-repository';
import { restoredSpec } from '../../common/restore-plan';
import { writeClusterSpec } from '../../lib/cluster-spec-file';
import { checkSpec, parseSpec } from '../../common/spec';
import { backupContainer, postgresContainer } from '../../lib/docker/node-containers';
import { pgbackrestErrorSummary } from '../../lib/backup/pgbackrest-output';
import { memberBackupFiles, pgbackrestConf, PGBACKREST_CONF, S3_CA_FILE } from '../../lib/backup/pgbackrest-config';
import {
  describeRepository,
  parseCredentials,
  RepositoryCredentialsError,
  RepositoryStore,
  type S3RepositoryAccess,
} from '../../lib/backup/repository';

const s3 = (extra: Record<string, unknown> = {}) => ({
  type: 's3',
  endpoint: 's3server:9000',
  bucket: 'backups',
  region: 'us-east-1',
  credentialsFile: '/etc/citusctl/s3-credentials',
  ...extra,
});
const problems = (repository: unknown) => {
  const r = checkSpec({ backup: { repository } });
  return r.ok ? [] : r.problems;
};

describe('backup.repository in the spec', () => {
  test('defaults to the volume, as before', () => {
    expect(parseSpec({}).backup.repository).toEqual({ type: 'volume' });
  });

  test('an S3 repository: uriStyle defaults to path, path stays unset (per-cluster default)', () => {
    const repo = parseSpec({ backup: { repository: s3() } }).backup.repository;
    expect(repo).toEqual({ ...s3(), uriStyle: 'path' });
  });

  test.each([
    [{ endpoint: 'https://s3server' }, 'backup.repository.endpoint'],
    [{ endpoint: 's3server:70000' }, 'backup.repository.endpoint: port 70000'],
    [{ bucket: 'Bad_Bucket' }, 'backup.repository.bucket'],
    [{ region: 'US East' }, 'backup.repository.region'],
    [{ path: 'relative/prefix' }, 'backup.repository.path'],
    [{ uriStyle: 'virtual' }, 'backup.repository.uriStyle'],
    [{ caFile: 'ca.pem' }, 'backup.repository.caFile'],
    [{ credentialsFile: undefined }, 'backup.repository.credentialsFile'],
    [{ bucket: 'my.bucket', uriStyle: 'host' }, 'backup.repository.bucket: a bucket name with dots'],
    [{ accessKeyId: 'AKIA' }, 'unknown key(s) "accessKeyId"'],
    [{ verifyTls: false }, 'unknown key(s) "verifyTls"'],
  ])('%j is refused naming %s', (extra, field) => {
    expect(problems(s3(extra)).join('\n')).toContain(field);
  });

  test('an unknown type is refused', () => {
    expect(problems({ type: 'gcs' }).join('\n')).toContain('backup.repository.type');
  });
});

describe('the credentials file', () => {
  test("the AWS CLI's format: a profile header, comments and spaces around '='", () => {
    const text = '# keys\n[default]\naws_access_key_id = AKID1\naws_secret_access_key=se/cr+et=\n';
    expect(parseCredentials(text, '/f')).toEqual({ accessKeyId: 'AKID1', secretAccessKey: 'se/cr+et=' });
  });

  test('a missing secret is named, and the error does not repeat the key it found', () => {
    let err: unknown;
    try {
      parseCredentials('aws_access_key_id = AKIDSECRETLOOKING\n', '/etc/creds');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RepositoryCredentialsError);
    expect((err as Error).message).toContain('/etc/creds: no aws_secret_access_key');
    expect((err as Error).message).not.toContain('AKIDSECRETLOOKING');
  });
});

describe('the stored access', () => {
  let root: string;
  beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'repo-store-'))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('up reads the files once; the stored copy (0600) serves while the spec names the same place', async () => {
    const creds = path.join(root, 'creds');
    const ca = path.join(root, 'ca.pem');
    fs.writeFileSync(creds, 'aws_access_key_id=K1\naws_secret_access_key=S1\n');
    fs.writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
    const spec = parseSpec({ name: 'c1', backup: { repository: s3({ credentialsFile: creds, caFile: ca }) } });
    const store = new RepositoryStore(root);
    const a = await store.ensure(spec, { refresh: true });
    expect(a).toMatchObject({ type: 's3', path: '/citusctl/c1', accessKeyId: 'K1', secretAccessKey: 'S1' });
    const file = path.join(root, 'backup-repositories', 'c1.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    fs.rmSync(creds); // gone: the stored copy still serves
    expect(await store.ensure(spec)).toEqual(a);
    // Another bucket is another place: its files are read again (and here they are gone).
    const moved = parseSpec({ name: 'c1', backup: { repository: s3({ credentialsFile: creds, bucket: 'other' }) } });
    await expect(store.ensure(moved)).rejects.toThrow(/credentialsFile .*cannot be read/);
    expect(await store.of('c1')).toEqual(a);
    expect(await store.of('c2')).toEqual({ type: 'volume' });
    await store.remove('c1');
    expect(await store.of('c1')).toEqual({ type: 'volume' });
  });

  test('a caFile without a certificate is refused', async () => {
    const creds = path.join(root, 'creds');
    fs.writeFileSync(creds, 'aws_access_key_id=K1\naws_secret_access_key=S1\n');
    const ca = path.join(root, 'ca.pem');
    fs.writeFileSync(ca, 'not a pem');
    const spec = parseSpec({ backup: { repository: s3({ credentialsFile: creds, caFile: ca }) } });
    await expect(new RepositoryStore(root).ensure(spec)).rejects.toThrow(/caFile .* holds no PEM certificate/);
  });
});

const access: S3RepositoryAccess = {
  type: 's3',
  endpoint: 's3server:9000',
  bucket: 'backups',
  region: 'us-east-1',
  path: '/citusctl/demo',
  uriStyle: 'path',
  accessKeyId: 'K1',
  secretAccessKey: 'S1',
  caPem: '-----BEGIN CERTIFICATE-----\n',
};

describe("pgBackRest's configuration for S3", () => {
  test('endpoint, port, bucket, region, keys, CA file; no lock on a shared volume', () => {
    const conf = pgbackrestConf({ stanzas: ['g1'], retentionFull: 2, repo: access });
    for (const line of [
      'repo1-type=s3',
      'repo1-path=/citusctl/demo',
      'repo1-s3-endpoint=s3server',
      'repo1-storage-port=9000',
      'repo1-s3-bucket=backups',
      'repo1-s3-region=us-east-1',
      'repo1-s3-uri-style=path',
      'repo1-s3-key=K1',
      'repo1-s3-key-secret=S1',
      `repo1-storage-ca-file=${S3_CA_FILE}`,
    ])
      expect(conf.split('\n')).toContain(line);
    expect(conf).not.toMatch(/lock-path|verify-tls/);
  });

  test("the member's file is 0600 with the keys, the CA beside it; the volume's stays as it was", () => {
    const spec = parseSpec({ backup: { repository: s3() } });
    const files = memberBackupFiles(spec, 'g1', access);
    expect(files[PGBACKREST_CONF]!.mode).toBe(0o600);
    expect(files[S3_CA_FILE]!.content).toBe(access.caPem);
    const volume = memberBackupFiles(parseSpec({}), 'g1', { type: 'volume' });
    expect(volume[PGBACKREST_CONF]!.mode).toBe(0o644);
    expect(volume[PGBACKREST_CONF]!.content).toContain('repo1-path=/var/lib/pgbackrest');
    expect(volume[S3_CA_FILE]).toBeUndefined();
  });

  test('with S3 no container mounts the repository volume, and no secret is in a container definition', () => {
    const spec = parseSpec({ backup: { repository: s3() } });
    const member = postgresContainer(spec, spec.members[0]!, 'img');
    const backup = backupContainer(spec, 'img');
    expect(member.HostConfig?.Mounts?.map((m) => m.Target)).not.toContain('/var/lib/pgbackrest');
    expect(backup.HostConfig?.Mounts).toEqual([]);
    const volumeSpec = parseSpec({});
    expect(postgresContainer(volumeSpec, volumeSpec.members[0]!, 'img').HostConfig?.Mounts?.length).toBe(2);
  });

  test('described by location, never by key', () => {
    expect(describeRepository('vol', access)).toBe('s3://backups/citusctl/demo at s3server:9000');
    expect(describeRepository('vol', { type: 'volume' })).toBe('vol');
  });
});

describe('a restored cluster never shares the source prefix', () => {
  const point: RestorePointRecord = {
    name: 'r1',
    cluster: 'demo',
    createdAt: '2026-12-07T03:00:00.000Z',
    origin: 'manual',
    coordinatorLsn: '0/5000000',
    groups: Object.fromEntries(
      ['coordinator', 'g1', 'g2'].map((g) => [
        g,
        { primary: `${g === 'coordinator' ? 'coord' : g}-a`, lsn: '0/5000000', timeline: 1, walFile: 'x' },
      ]),
    ),
    rowCounts: {},
    pauseMs: 3,
  };
  test('an explicit source path is dropped under a new name, kept in place', () => {
    const backupSpec = parseSpec({ name: 'demo', backup: { repository: s3({ path: '/shared/demo' }) } });
    const renamed = restoredSpec({ backupSpec, point, as: 'demo2' });
    if (!renamed.ok) throw new Error(renamed.problems.join('; '));
    expect(renamed.spec.backup.repository).toEqual({ ...s3(), uriStyle: 'path' });
    const inPlace = restoredSpec({ backupSpec, point, as: 'demo' });
    if (!inPlace.ok) throw new Error(inPlace.problems.join('; '));
    expect(inPlace.spec.backup.repository).toMatchObject({ path: '/shared/demo' });
  });
});

describe("pgBackRest's error output, summed up", () => {
  const forbidden = [
    '2026-12-07 07:00:30.905 P00  ERROR: [039]: HTTP request failed with 403 (FORBIDDEN):',
    '                                    *** Path/Query ***:',
    '                                    GET /b/?list-type=2',
    '                                    authorization: <redacted>',
    '                                    *** Response Content ***:',
    '                                    <Error>',
    '                                        <Code>InvalidAccessKeyId</Code>',
    '                                        <Message><![CDATA[The key does not exist]]></Message>',
    '                                        <AWSAccessKeyId>AKIDLEAK</AWSAccessKeyId>',
    '                                    </Error>',
  ].join('\n');
  test("the ERROR line and the S3 code and message, not the headers nor the body's key id", () => {
    const s = pgbackrestErrorSummary(forbidden);
    expect(s).toBe('[039] HTTP request failed with 403 (FORBIDDEN): (InvalidAccessKeyId: The key does not exist)');
    expect(s).not.toContain('AKIDLEAK');
  });
  test('without an ERROR line: the last lines', () => {
    expect(pgbackrestErrorSummary('a\nb\nc\nd\n')).toBe('b | c | d');
  });
});

describe("up's repository preflight, before any container", () => {
  let root: string;
  beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'repo-preflight-'))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
  // Never reached: each refusal comes before anything runs in Docker.
  const noDocker = {} as Docker;

  test('a running cluster is not moved to another repository', async () => {
    await writeClusterSpec(root, 'demo', parseSpec({}));
    const moved = parseSpec({ backup: { repository: s3() } });
    await expect(preflightRepository(noDocker, moved, root, () => undefined)).rejects.toThrow(
      /backup.repository: cluster demo runs with another repository \(volume\)/,
    );
  });

  test('a volume spec does not hide the backups of an earlier cluster of the name in S3', async () => {
    await new RepositoryStore(root).write('demo', access);
    await expect(preflightRepository(noDocker, parseSpec({}), root, () => undefined)).rejects.toThrow(
      /cluster demo's backups are in s3:\/\/backups\/citusctl\/demo at s3server:9000/,
    );
  });

  test('a credentials file that cannot be read is named', async () => {
    const spec = parseSpec({ backup: { repository: s3({ credentialsFile: path.join(root, 'none') }) } });
    await expect(preflightRepository(noDocker, spec, root, () => undefined)).rejects.toThrow(
      /backup.repository.credentialsFile .*none: cannot be read \(ENOENT\)\. Nothing was created\./,
    );
  });
});
