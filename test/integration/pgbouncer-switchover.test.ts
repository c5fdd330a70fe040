/**
 * PgBouncer with `processes: 2` in a real cluster:
 * - `up` starts two PgBouncer processes on the one port; psql without TLS is refused, psql with
 *   verify-full against the cluster's CA gets past TLS to authentication;
 * - a coordinator switchover under writers through PgBouncer (PAUSE, re-point, RELOAD and RESUME on
 *   every process): 0 client errors, every acknowledged row present, every process points at the
 *   new coordinator and none is left paused.
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { numberedWriters } from './support/numbered-writers';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import Docker from 'dockerode';
import { parseSpec } from '../../common/spec';
import { networkName } from '../../common/topology';
import { onEveryBouncer } from '../../activities/setup/pgbouncer-admin';
import { bouncerDatabase } from '../../lib/postgres/pgbouncer-admin';
import { SecretStore } from '../../lib/secrets';
import { TlsStore } from '../../lib/tls/tls-store';
import { citusVersion, destroyCluster, layout, logCitus, makeCluster, su, testImages, upJson } from './support/cluster';
import {
  acquireRunLock,
  cliJson,
  execRoot,
  livePrimaries,
  removeLeftovers,
  type GroupRunJson,
  type SwitchoverResultJson,
} from './support/failover';
import { caFile } from './support/pgbouncer-tls';

jest.setTimeout(12 * 60_000);

const WRITES = 'pgbsw_writes';
const base = layout({
  name: 'it-pgbsw',
  basePort: 31050,
  temporalPort: 31060,
  rows: 200,
  shardCount: 4,
  workers: ['g1'],
});
const c = makeCluster({ ...base, pgbouncer: { port: 31054, poolMode: 'transaction', processes: 2 } }, 31060);
const docker = new Docker();

/** psql from the postgres image on the cluster network, to pgbouncer:6432 (no password given). */
async function psqlToPgbouncer(conninfo: string): Promise<string> {
  const container = await docker.createContainer({
    Image: testImages().postgres,
    Entrypoint: ['psql'],
    Cmd: [`host=pgbouncer port=6432 user=app dbname=postgres connect_timeout=10 ${conninfo}`, '-c', 'SELECT 1'],
    Env: ['PGPASSWORD='],
    HostConfig: { NetworkMode: networkName(c.name), Binds: [`${caFile(c)}:/ca.crt:ro`] },
    Labels: { 'citusctl.cluster': c.name },
  });
  try {
    await container.start();
    await container.wait();
    const logs = (await container.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    return logs.toString('utf8');
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

describe('PgBouncer with two processes: TLS required, coordinator switchover on every process', () => {
  let releaseLock: (() => void) | undefined;

  beforeAll(async () => {
    releaseLock = await acquireRunLock(c.name);
    await removeLeftovers(c);
    const up = await upJson(c, ['--no-monitor']);
    expect(up.ok).toBe(true);
    logCitus(await citusVersion(c), `cluster ${c.name}`);
  });

  afterAll(async () => {
    try {
      await destroyCluster(c);
    } finally {
      releaseLock?.();
    }
  });

  it('two PgBouncer processes; psql without TLS is refused, with verify-full it reaches authentication', async () => {
    expect((await execRoot(c, 'pgbouncer', ['pgrep', '-x', 'pgbouncer'])).stdout.trim().split('\n')).toHaveLength(2);
    const plain = await psqlToPgbouncer('sslmode=disable');
    expect(plain).toMatch(/SSL required/);
    // TLS verified against the cluster's CA; then PgBouncer asks for the password psql does not have.
    const tls = await psqlToPgbouncer('sslmode=verify-full sslrootcert=/ca.crt');
    expect(tls).toMatch(/no password supplied|password authentication failed/);
    expect(tls).not.toMatch(/SSL|certificate/i);
  });

  it('coordinator switchover under writers: 0 client errors, no row lost, both processes re-pointed', async () => {
    const oldCoordinator = (await livePrimaries(c)).coordinator!;
    const target = c.spec.members.find((m) => m.group === 'coordinator' && m.name !== oldCoordinator)!.name;
    await su(c, oldCoordinator, async (cl) => {
      await cl.query(`CREATE TABLE IF NOT EXISTS ${WRITES} (id bigint PRIMARY KEY, at timestamptz DEFAULT now())`);
      await cl.query(`GRANT SELECT, INSERT ON ${WRITES} TO app`);
    });
    // Eight clients (spread by the kernel over both processes), each writing numbered rows in ~50 ms
    // transactions: at any instant some transaction is in flight on each process.
    const WRITERS = 8;
    const writers = numberedWriters(c, WRITES, WRITERS);
    const { acked, errors } = writers;
    try {
      await writers.waitFor(80);
      const r = await cliJson<GroupRunJson<SwitchoverResultJson>>(c, ['switchover', 'coordinator'], {
        timeoutMs: 300_000,
      });
      expect(r.result).toMatchObject({ group: 'coordinator', oldPrimary: oldCoordinator, newPrimary: target });
      console.log(
        `[pgbouncer x2] coordinator switchover ${oldCoordinator} -> ${target}: clients held ${r.result.pauseMs} ms`,
      );
      await writers.waitFor(80);
    } finally {
      await writers.stop();
    }
    console.log(`[pgbouncer x2] ${acked.length} rows acknowledged by ${WRITERS} clients, ${errors.length} errors`);
    expect(errors).toEqual([]);
    const present = new Set(
      await su(c, target, async (cl) =>
        (await cl.query<{ id: string }>(`SELECT id FROM ${WRITES}`)).rows.map((x) => Number(x.id)),
      ),
    );
    expect(acked.filter((id) => !present.has(id))).toEqual([]);
    // Each process, through its own socket: pointing at the new coordinator, not paused.
    const deps = { docker, secrets: new SecretStore(c.stateDir), tls: new TlsStore(c.stateDir) };
    const spec = parseSpec(c.spec);
    expect(await onEveryBouncer(deps, spec, (a) => bouncerDatabase(a))).toEqual([
      { host: target, paused: false },
      { host: target, paused: false },
    ]);
  });
});
