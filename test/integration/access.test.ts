/**
 * Who may change the cluster, and from where, through the built CLI on one cluster (coord-a/coord-b,
 * g1-a/g1-b; ports 31700-31799):
 * - etcd requires authentication: a stray local process cannot rewrite primaries or locks; the
 *   orchestrator (root, password in secrets.json only) can; a half-done enable converges.
 * - access rules follow the current network: down (volumes kept), another Docker network takes
 *   the old subnet, up again: the data is back and the cluster healthy.
 * - coordinator switchover under load through PgBouncer (PAUSE / re-point / RESUME): 0 client
 *   errors, every acknowledged row present afterwards.
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Etcd3 } from 'etcd3';
import type { Client } from 'pg';
import { etcdAuthEnabled, secureEtcd } from '../../lib/etcd-auth';
import {
  citusVersion,
  docker,
  layout,
  logCitus,
  makeCluster,
  primaryKey,
  readSecrets,
  runCli,
  destroyCluster,
  describeRun,
  sleep,
  su,
  testImages,
  upJson,
  withEtcd,
} from './support/cluster';
import {
  acquireRunLock,
  appClient,
  cliJson,
  clusterHealth,
  demoCount,
  livePrimaries,
  removeLeftovers,
  type GroupRunJson,
  type SwitchoverResultJson,
} from './support/failover';

jest.setTimeout(12 * 60_000);

const TABLE = 'events';
const WRITES = 'access_writes';
const ROWS = 300;
const c = makeCluster(
  layout({ name: 'it-access', basePort: 31700, temporalPort: 31790, rows: ROWS, shardCount: 4, workers: ['g1'] }),
  31790,
);
const NETWORK = `citusctl-${c.name}`;
const SQUATTER = 'citusctl-it-access-squatter';
const PROBE_ETCD = 'citusctl-it-access-probe-etcd';
const PROBE_ETCD_PORT = 31795;
const lockKey = (group: string) => `/citusctl/${c.name}/locks/${group}`;

const subnetOf = async (network: string) =>
  ((await docker.getNetwork(network).inspect()) as { IPAM?: { Config?: { Subnet?: string }[] } }).IPAM?.Config?.[0]
    ?.Subnet;
const plainEtcd = (password?: string) =>
  new Etcd3({
    hosts: `http://127.0.0.1:${c.spec.etcd.port}`,
    dialTimeout: 3000,
    ...(password ? { auth: { username: 'root', password } } : {}),
  });

async function expectRejected(what: string, op: () => Promise<unknown>, re: RegExp): Promise<void> {
  let error: Error | undefined;
  try {
    await op();
  } catch (err) {
    error = err as Error;
  }
  expect({ what, rejected: error?.message ?? 'accepted' }).toEqual({ what, rejected: expect.stringMatching(re) });
}

async function expectHealthy(coordinator: string): Promise<void> {
  const health = await clusterHealth(c, coordinator);
  expect(health.length).toBeGreaterThan(0);
  expect(health.filter((h) => h.result !== true)).toEqual([]);
}

async function removeProbes(): Promise<void> {
  await docker
    .getContainer(PROBE_ETCD)
    .remove({ force: true })
    .catch(() => undefined);
  await docker
    .getNetwork(SQUATTER)
    .remove()
    .catch(() => undefined);
}

describe('access: etcd authentication, a new subnet, coordinator switchover without client errors', () => {
  let releaseLock: (() => void) | undefined;

  beforeAll(async () => {
    releaseLock = await acquireRunLock(c.name);
    await removeLeftovers(c);
    await removeProbes();
    const up = await upJson(c);
    expect(up.ok).toBe(true);
    logCitus(await citusVersion(c), `cluster ${c.name}`);
  });

  afterAll(async () => {
    try {
      await removeProbes();
      await destroyCluster(c);
    } finally {
      releaseLock?.();
    }
  });

  it('etcd: without the password nobody writes primaries or locks (nor reads); root can; status reads it', async () => {
    const s = readSecrets(c);
    expect(s.etcdRootPassword).toBeTruthy();
    const primary = primaryKey(c.name, 'g1');
    expect(await withEtcd(c, (e) => e.get(primary).string())).toBe('g1-a');

    const anon = plainEtcd();
    const wrong = plainEtcd('not-the-password');
    try {
      await expectRejected(
        'unauthenticated put of the g1 primary',
        async () => anon.put(primary).value('g1-b'),
        /user name is empty/,
      );
      await expectRejected(
        'unauthenticated put of the g1 lock',
        async () => anon.put(lockKey('g1')).value('intruder'),
        /user name is empty/,
      );
      await expectRejected(
        'unauthenticated put of the coordinator lock',
        async () => anon.put(lockKey('coordinator')).value('intruder'),
        /user name is empty/,
      );
      await expectRejected(
        'unauthenticated delete of the primaries',
        async () => anon.delete().prefix(`/citusctl/${c.name}/`),
        /user name is empty/,
      );
      await expectRejected('unauthenticated read', () => anon.get(primary).string(), /user name is empty/);
      await expectRejected('unauthenticated auth disable', () => anon.auth.authDisable(), /user name is empty/);
      await expectRejected('a wrong password', async () => wrong.put(primary).value('g1-b'), /authentication failed/);
    } finally {
      anon.close();
      wrong.close();
    }
    // Nothing changed.
    expect(await withEtcd(c, (e) => e.get(primary).string())).toBe('g1-a');
    expect(await withEtcd(c, (e) => e.get(lockKey('g1')).string())).toBeNull();

    // The authenticated client can write both (values restored / removed right away).
    await withEtcd(c, async (e) => {
      await e.put(primary).value('g1-a');
      await e.put(lockKey('g9')).value('test-owner');
      expect(await e.get(lockKey('g9')).string()).toBe('test-owner');
      await e.delete().key(lockKey('g9'));
    });

    // Never in process arguments or the environment of the etcd container.
    const info = await docker.getContainer(`citusctl-${c.name}-etcd`).inspect();
    expect(JSON.stringify([info.Args, info.Config.Cmd, info.Config.Env, info.Config.Entrypoint])).not.toContain(
      s.etcdRootPassword,
    );

    // status authenticates.
    const st = await cliJson<{ status: { livePrimaries: Record<string, string | null> } } & Record<string, unknown>>(
      c,
      ['status'],
    );
    expect(JSON.stringify(st)).toContain('"g1":"g1-a"');
    expect(JSON.stringify(st)).not.toContain(s.etcdRootPassword);
  });

  it('etcd: a half-done enable (root added, auth off) converges; a rerun is a no-op; a foreign one fails', async () => {
    await docker.createContainer({
      name: PROBE_ETCD,
      Image: testImages().etcd,
      Labels: { 'citusctl.it-probe': 'true' },
      Entrypoint: ['etcd'],
      Cmd: [
        '--name=etcd',
        '--data-dir=/tmp/etcd',
        '--listen-client-urls=http://0.0.0.0:2379',
        '--advertise-client-urls=http://127.0.0.1:2379',
        '--log-level=warn',
      ],
      ExposedPorts: { '2379/tcp': {} },
      HostConfig: { PortBindings: { '2379/tcp': [{ HostIp: '127.0.0.1', HostPort: String(PROBE_ETCD_PORT) }] } },
    });
    await docker.getContainer(PROBE_ETCD).start();
    const hosts = `http://127.0.0.1:${PROBE_ETCD_PORT}`;
    const plain = new Etcd3({ hosts, dialTimeout: 3000 });
    try {
      for (let i = 0; ; i++) {
        try {
          await plain.user('root').create('half-done-pw'); // an earlier attempt crashed right after this
          break;
        } catch (err) {
          if (i > 50) throw err;
          await sleep(200);
        }
      }
      expect(await etcdAuthEnabled(PROBE_ETCD_PORT)).toBe(false);
      expect(await secureEtcd(PROBE_ETCD_PORT, 'half-done-pw')).toBe('secured');
      expect(await etcdAuthEnabled(PROBE_ETCD_PORT)).toBe(true);
      expect(await secureEtcd(PROBE_ETCD_PORT, 'half-done-pw')).toBe('already-secured');
      await expect(secureEtcd(PROBE_ETCD_PORT, 'someone-elses')).rejects.toThrow(/rejects the root password/);
      await expectRejected(
        'unauthenticated put after securing',
        async () => plain.put('/citusctl/x').value('1'),
        /user name is empty/,
      );
    } finally {
      plain.close();
      await docker
        .getContainer(PROBE_ETCD)
        .remove({ force: true })
        .catch(() => undefined);
    }
  });

  it('down (volumes kept), another network takes the old subnet, up: same data, healthy, new subnet in', async () => {
    const before = await su(c, 'coord-a', async (cl) =>
      Number((await cl.query<{ n: string }>(`SELECT count(*) AS n FROM public."${TABLE}"`)).rows[0]!.n),
    );
    expect(before).toBe(ROWS);
    const oldSubnet = await subnetOf(NETWORK);
    expect(oldSubnet).toBeTruthy();

    const down = await runCli(['down', '--json', '-c', c.specFile], c.env, 180_000);
    expect({ code: down.code, out: down.code === 0 ? '' : describeRun(down) }).toEqual({ code: 0, out: '' });
    expect((await docker.listNetworks({ filters: { name: [NETWORK] } })).filter((n) => n.Name === NETWORK)).toEqual([]);

    await docker.createNetwork({
      Name: SQUATTER,
      Driver: 'bridge',
      Labels: { 'citusctl.it-probe': 'true' },
      IPAM: { Config: [{ Subnet: oldSubnet! }] },
    });
    try {
      const up = await upJson(c);
      expect(up.ok).toBe(true);
      const newSubnet = await subnetOf(NETWORK);
      expect(newSubnet).toBeTruthy();
      expect(newSubnet).not.toBe(oldSubnet);
      console.log(`[access] subnet ${oldSubnet} taken by ${SQUATTER}; the cluster came back on ${newSubnet}`);

      const primaries = await livePrimaries(c);
      const coordinator = primaries.coordinator!;
      const after = await su(c, coordinator, async (cl) =>
        Number((await cl.query<{ n: string }>(`SELECT count(*) AS n FROM public."${TABLE}"`)).rows[0]!.n),
      );
      expect(after).toBe(before);
      const app = await appClient(c);
      try {
        expect(await demoCount(app, TABLE)).toBe(before);
      } finally {
        await app.end().catch(() => undefined);
      }
      await expectHealthy(coordinator);
      // Every member runs with the new subnet's pg_hba.
      for (const m of c.spec.members) {
        const hba = await su(
          c,
          m.name,
          async (cl) =>
            (
              await cl.query<{ a: string }>(
                "SELECT string_agg(address || '/' || netmask, ' ') AS a FROM pg_hba_file_rules WHERE type = 'hostssl'",
              )
            ).rows[0]!.a,
        );
        expect({ member: m.name, hba }).toEqual({
          member: m.name,
          hba: expect.not.stringContaining(oldSubnet!.split('/')[0]!),
        });
      }
    } finally {
      await docker
        .getNetwork(SQUATTER)
        .remove()
        .catch(() => undefined);
    }
  });

  it('coordinator switchover under load through PgBouncer: 0 client errors, every acknowledged row there', async () => {
    const primaries = await livePrimaries(c);
    const oldCoordinator = primaries.coordinator!;
    const target = c.spec.members.find((m) => m.group === 'coordinator' && m.name !== oldCoordinator)!.name;
    await su(c, oldCoordinator, async (cl) => {
      await cl.query(`CREATE TABLE IF NOT EXISTS ${WRITES} (id bigint PRIMARY KEY, at timestamptz DEFAULT now())`);
      await cl.query(`GRANT SELECT, INSERT ON ${WRITES} TO app`);
    });

    // Several clients, each writing numbered rows in transactions that last ~50 ms (an INSERT and a
    // pg_sleep in one implicit transaction): at any instant some transaction is in flight, so
    // fencing the old coordinator without holding clients would fail some of them.
    const WRITERS = 4;
    const acked: number[] = [];
    const errors: string[] = [];
    let stop = false;
    const clients: (Client | undefined)[] = [];
    const writerLoop = async (w: number) => {
      for (let id = w + 1; !stop; id += WRITERS) {
        try {
          clients[w] ??= await appClient(c);
          await clients[w]!.query(`INSERT INTO ${WRITES} (id) VALUES (${id}); SELECT pg_sleep(0.05)`);
          acked.push(id);
        } catch (err) {
          errors.push(`row ${id}: ${(err as Error).message}`);
          await clients[w]?.end().catch(() => undefined);
          clients[w] = undefined;
          await sleep(50);
        }
      }
    };
    const writer = Promise.all(Array.from({ length: WRITERS }, (_, w) => writerLoop(w)));
    try {
      while (acked.length < 50 && errors.length === 0) await sleep(20); // writing before the switchover starts
      const r = await cliJson<GroupRunJson<SwitchoverResultJson>>(c, ['switchover', 'coordinator'], {
        timeoutMs: 300_000,
      });
      expect(r.result).toMatchObject({ group: 'coordinator', oldPrimary: oldCoordinator, newPrimary: target });
      console.log(
        `[access] coordinator switchover ${oldCoordinator} -> ${target}: clients held ${r.result.pauseMs} ms; ` +
          `steps ${r.steps.map((s) => `${s.name}=${s.detail ?? s.state}`).join('; ')}`,
      );
      const ackedAtEnd = acked.length;
      while (acked.length < ackedAtEnd + 50 && errors.length === 0) await sleep(20); // and after it
    } finally {
      stop = true;
      await writer;
      await Promise.all(clients.map((cl) => cl?.end().catch(() => undefined)));
    }

    console.log(
      `[access] ${acked.length} rows acknowledged by ${WRITERS} clients through PgBouncer, ${errors.length} errors`,
    );
    expect(errors).toEqual([]);
    expect((await livePrimaries(c)).coordinator).toBe(target);
    const present = new Set(
      await su(c, target, async (cl) =>
        (await cl.query<{ id: string }>(`SELECT id FROM ${WRITES}`)).rows.map((x) => Number(x.id)),
      ),
    );
    const missing = acked.filter((id) => !present.has(id));
    expect({ acknowledged: acked.length, missing }).toEqual({ acknowledged: acked.length, missing: [] });
    // PgBouncer is not left paused, and points at the new coordinator.
    const app = await appClient(c);
    try {
      expect(await demoCount(app, TABLE)).toBe(ROWS);
    } finally {
      await app.end().catch(() => undefined);
    }
    await expectHealthy(target);
  });
});
