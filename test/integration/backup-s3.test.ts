/**
 * Backups in an S3-compatible repository (spec `backup.repository: { type: s3, ... }`), against a
 * real S3 server: moto (test/s3-server, built if missing) in a container of its own on the
 * clusters' networks (alias `s3server`), over TLS with a certificate of a test CA, with signatures
 * checked (a wrong key is refused). Clusters it-s3 (ports 31920-31925) and it-s3-restored
 * (31940-31945), embedded Temporal on 31949. The flow:
 * - `up` with a wrong secret, or a bucket that does not exist: refused before anything is created,
 *   naming backup.repository, never printing a key;
 * - `up`: no repository volume; the keys only in pgBackRest's file in the containers (0600, postgres);
 * - rows, `citusctl backup`, more rows, `citusctl restore-point R`, then a DELETE of most rows;
 *   `backups` lists the backup and R from the bucket;
 * - `restore --as it-s3-restored --from it-s3 --to R`: the rows at R, none of the mistake, and the
 *   restored cluster's catalog in its own prefix of the bucket.
 * On real Citus: CITUSCTL_IMAGE_POSTGRES=citusctl-local/citus-real:17 (and CITUSCTL_TEST_IMAGE_POSTGRES).
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH), the images and citusctl/debian:trixie.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import type { RestorePointRecord } from '../../common/backup-records';
import { parseSpec, type ClusterSpecInput } from '../../common/spec';
import { backupRepoVolumeName, containerName, networkName } from '../../common/topology';
import { execIn, tarOf } from '../../lib/docker/docker-helpers';
import { createCa, issueCertificate } from '../../lib/tls/x509';
import type { RestoreClusterResult } from '../../workflows';
import {
  citusVersion,
  destroyCluster,
  docker,
  labelledObjects,
  layout,
  logCitus,
  makeCluster,
  removeLabelled,
  runCli,
  su,
  upJson,
  type TestCluster,
} from './support/cluster';
import { acquireRunLock, cliJson, removeLeftovers, waitFor, type GroupRunJson } from './support/failover';

jest.setTimeout(30 * 60_000);

const S3_IMAGE = 'citusctl-test/s3-server:1';
const S3_CONTAINER = 'citusctl-it-s3-server';
const S3_HOST = 's3server';
const BUCKET = 'citusctl-test';
const TABLE = 's3rows';
const POINT = 'r-s3';

const SHAPE = { rows: 200, shardCount: 4, workers: ['g1'] };
const c = makeCluster(layout({ name: 'it-s3', basePort: 31920, temporalPort: 31949, ...SHAPE }), 31949);
const restoredInput = layout({ name: 'it-s3-restored', basePort: 31940, temporalPort: 31949, ...SHAPE });
const restoredSpecFile = path.join(c.dir, 'restored.yaml');
const c2: TestCluster = { ...c, name: 'it-s3-restored', spec: parseSpec(restoredInput), specFile: restoredSpecFile };

const caFile = path.join(c.dir, 's3-ca.pem');
const credentialsFile = path.join(c.dir, 's3-credentials');
const badCredentialsFile = path.join(c.dir, 's3-credentials-bad');

const repository = (extra: Record<string, unknown> = {}) => ({
  type: 's3',
  endpoint: S3_HOST,
  bucket: BUCKET,
  region: 'us-east-1',
  caFile,
  credentialsFile,
  ...extra,
});
const withRepository = (input: ClusterSpecInput, extra: Record<string, unknown> = {}) => ({
  ...input,
  backup: { repository: repository(extra) },
});

let secret = '';

async function removeS3Server(): Promise<void> {
  await docker
    .getContainer(S3_CONTAINER)
    .remove({ force: true })
    .catch(() => undefined);
}

/** The server on both clusters' networks (created here with the clusters' label, as `up` would). */
async function startS3Server(): Promise<void> {
  execFileSync('bash', [path.join(__dirname, '../s3-server/build.sh')], { stdio: 'inherit' });
  for (const name of [c.name, c2.name])
    await docker.createNetwork({ Name: networkName(name), Driver: 'bridge', Labels: { 'citusctl.cluster': name } });
  const ca = await createCa('citusctl-test-s3-ca', 2);
  const server = await issueCertificate(ca, { commonName: S3_HOST, usages: ['server'], dnsNames: [S3_HOST], days: 2 });
  fs.writeFileSync(caFile, ca.certPem);
  const container = await docker.createContainer({
    name: S3_CONTAINER,
    Image: S3_IMAGE,
    Env: [`BUCKET=${BUCKET}`],
    HostConfig: { NetworkMode: networkName(c.name) },
    NetworkingConfig: { EndpointsConfig: { [networkName(c.name)]: { Aliases: [S3_HOST] } } },
  });
  await container.putArchive(
    await tarOf({
      '/certs/server.pem': { content: server.certPem, mode: 0o644 },
      '/certs/server.key': { content: server.keyPem, mode: 0o600 },
    }),
    { path: '/' },
  );
  await container.start();
  await docker
    .getNetwork(networkName(c2.name))
    .connect({ Container: S3_CONTAINER, EndpointConfig: { Aliases: [S3_HOST] } });
  await waitFor(
    'the S3 server',
    async () =>
      (await execIn(docker, S3_CONTAINER, ['test', '-e', '/state/ready'], 'root')).exitCode === 0 ? true : undefined,
    60_000,
    300,
  );
  const creds = (await execIn(docker, S3_CONTAINER, ['cat', '/state/credentials'], 'root')).stdout;
  secret = /aws_secret_access_key = (\S+)/.exec(creds)![1]!;
  fs.writeFileSync(credentialsFile, creds, { mode: 0o600 });
  fs.writeFileSync(badCredentialsFile, creds.replace(secret, `x${secret.slice(1)}`), { mode: 0o600 });
}

/** `down` removes a cluster's network: not while the server is attached to it. */
async function detachS3Server(cluster: string): Promise<void> {
  await docker
    .getNetwork(networkName(cluster))
    .disconnect({ Container: S3_CONTAINER, Force: true })
    .catch(() => undefined);
}

async function count(cluster: TestCluster, table: string): Promise<number> {
  return su(cluster, 'coord-a', async (cl) =>
    Number((await cl.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n),
  );
}

type RestoreJson = GroupRunJson<RestoreClusterResult>;
interface BackupsJson {
  repository: string;
  exists: boolean;
  backups: { id: string; restorePoint: string }[];
  restorePoints: { name: string }[];
}

describe('backups in an S3-compatible repository', () => {
  let releaseLock: (() => void) | undefined;
  beforeAll(async () => {
    releaseLock = await acquireRunLock(c.name);
    await removeLeftovers(c);
    await removeLabelled(c2.name);
    await removeS3Server();
    await startS3Server();
    fs.writeFileSync(
      c.specFile,
      stringify(withRepository(layout({ name: c.name, basePort: 31920, temporalPort: 31949, ...SHAPE }))),
    );
    fs.writeFileSync(restoredSpecFile, stringify(withRepository(restoredInput)));
  });
  afterAll(async () => {
    for (const cl of [c2, c]) await detachS3Server(cl.name);
    await destroyCluster(c2, { stopTemporal: false, removeDir: false });
    await destroyCluster(c, { stopTemporal: true });
    await removeS3Server();
    for (const cl of [c, c2]) await removeLabelled(cl.name);
    releaseLock?.();
  });

  it.each([
    ['a wrong secret', { credentialsFile: badCredentialsFile }, /403|Forbidden|SignatureDoesNotMatch/i],
    ['a bucket that does not exist', { bucket: 'no-such-bucket' }, /404|NoSuchBucket/i],
  ])('up with %s: refused before anything is created, naming backup.repository', async (_what, extra, why) => {
    const file = path.join(c.dir, 'bad.yaml');
    fs.writeFileSync(
      file,
      stringify(withRepository(layout({ name: c.name, basePort: 31920, temporalPort: 31949, ...SHAPE }), extra)),
    );
    const r = await runCli(['up', '--json', '--no-monitor', '-c', file], c.env, 180_000);
    const out = r.stdout + r.stderr;
    expect(r.code).not.toBe(0);
    expect(out).toMatch(/backup\.repository: the S3 repository s3:\/\/\S+ at s3server cannot be used/);
    expect(out).toMatch(why);
    expect(out).not.toContain(secret);
    expect(out).not.toContain(secret.slice(1));
    const left = await labelledObjects(c.name);
    expect({ containers: left.containers, volumes: left.volumes }).toEqual({ containers: [], volumes: [] });
  });

  it('up: no repository volume; the keys only in pgBackRest file in the containers (0600, postgres)', async () => {
    const up = await upJson(c, ['--no-monitor']);
    expect(up.ok).toBe(true);
    logCitus(await citusVersion(c), 'backup-s3');
    await expect(docker.getVolume(backupRepoVolumeName(c.name)).inspect()).rejects.toMatchObject({ statusCode: 404 });
    for (const member of ['coord-a', 'g1-b', 'backup']) {
      const name = containerName(c.name, member);
      const st = await execIn(docker, name, ['stat', '-c', '%a %U', '/citusctl/pgbackrest.conf'], 'root');
      expect(st.stdout.trim()).toBe('600 postgres');
      // Not in the container's definition (environment, command, labels).
      expect(JSON.stringify(await docker.getContainer(name).inspect())).not.toContain(secret);
    }
    // Not in the spec the cluster stored.
    const stored = fs.readFileSync(path.join(c.stateDir, 'clusters', c.name, 'spec.json'), 'utf8');
    expect(stored).not.toContain(secret);
  });

  let point: RestorePointRecord;
  it('rows, backup, more rows, restore point R, then a destructive DELETE; `backups` lists them from S3', async () => {
    await su(c, 'coord-a', async (cl) => {
      await cl.query(`CREATE TABLE ${TABLE} (id bigint PRIMARY KEY)`);
      await cl.query(`SELECT create_distributed_table('${TABLE}', 'id')`);
      await cl.query(`INSERT INTO ${TABLE} SELECT generate_series(1, 1000)`);
    });
    const backup = await cliJson<GroupRunJson<{ backup: { id: string } }>>(c, ['backup'], { timeoutMs: 6 * 60_000 });
    expect(backup.ok).toBe(true);
    await su(c, 'coord-a', (cl) => cl.query(`INSERT INTO ${TABLE} SELECT generate_series(1001, 2000)`));
    const r = await cliJson<GroupRunJson<RestorePointRecord>>(c, ['restore-point', POINT], { timeoutMs: 4 * 60_000 });
    point = r.result;
    const counted = Object.entries(point.rowCounts ?? {}).find(([t]) => t.replace(/"/g, '') === `public.${TABLE}`);
    expect(counted?.[1]).toBe(2000);
    await su(c, 'coord-a', (cl) => cl.query(`DELETE FROM ${TABLE} WHERE id % 10 <> 0`));
    expect(await count(c, TABLE)).toBe(200);

    const listed = await cliJson<BackupsJson>(c, ['backups']);
    expect(listed.repository).toBe(`s3://${BUCKET}/citusctl/${c.name} at ${S3_HOST}`);
    expect(listed.backups.map((b) => b.id)).toContain(backup.result.backup.id);
    expect(listed.restorePoints.map((p) => p.name)).toContain(POINT);
  });

  it('restore --as it-s3-restored --from it-s3 --to R: the rows at R, none of the mistake', async () => {
    const r = await cliJson<RestoreJson>(
      c,
      ['restore', '--as', c2.name, '--from', c.name, '--to', POINT, '--no-monitor'],
      {
        specFile: restoredSpecFile,
        timeoutMs: 12 * 60_000,
      },
    );
    expect(r.ok).toBe(true);
    expect(r.result.point).toBe(POINT);
    expect(await count(c2, TABLE)).toBe(2000);
    for (const [table, n] of Object.entries(point.rowCounts!)) expect(await count(c2, table)).toBe(n);
    // Its own repository: the restored cluster's catalog is its own prefix (empty until its first backup).
    const listed = await cliJson<BackupsJson>(c2, ['backups'], { specFile: restoredSpecFile });
    expect(listed.repository).toBe(`s3://${BUCKET}/citusctl/${c2.name} at ${S3_HOST}`);
    expect(listed.restorePoints.map((p) => p.name)).not.toContain(POINT);
  });
});
