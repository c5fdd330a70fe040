/**
 * Who may change the cluster, and from where, through the built CLI on one cluster (coord-a/coord-b,
 * g1-a/g1-b; ports 31700-31799):
 * - etcd requires TLS with a client certificate of the cluster's CA, and authentication: a stray
 *   local process cannot rewrite primaries or locks, nor can a member's certificate alone; the
 *   orchestrator (its certificate, root's password in secrets.json) can; a half-done enable converges.
 * - access rules follow the current network: down (volumes kept), another Docker network takes
 *   the old subnet, up again: the data is back and the cluster healthy.
 * - coordinator switchover under load through PgBouncer (PAUSE / re-point / RESUME): 0 client
 *   errors, every acknowledged row present afterwards.
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { numberedWriters } from './support/numbered-writers';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Etcd3 } from 'etcd3';
import { memberIdentityId } from '../../common/tls-identities';
import { etcdAuthEnabled, etcdClientOptions, secureEtcd } from '../../lib/etcd-auth';
import { ORCHESTRATOR_IDENTITY } from '../../lib/tls/orchestrator-tls';
import { TlsStore } from '../../lib/tls/tls-store';
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
import { startTlsEtcd } from './support/tls-etcd';

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
/** The stand-alone etcd of the half-done enable (container citusctl-it-access-probe-etcd). */
const PROBE_CLUSTER = 'it-access-probe';
const PROBE_ETCD = 'citusctl-it-access-probe-etcd';
const PROBE_ETCD_PORT = 31795;
const lockKey = (group: string) => `/citusctl/${c.name}/locks/${group}`;

const subnetOf = async (network: string) =>
  ((await docker.getNetwork(network).inspect()) as { IPAM?: { Config?: { Subnet?: string }[] } }).IPAM?.Config?.[0]
    ?.Subnet;
/** A client of the cluster's etcd presenting `identity`'s certificate (none: TLS without one), maybe a password. */
const etcdAs = async (identity: string | undefined, password?: string) => {
  const store = new TlsStore(c.stateDir);
  const pair = identity ? await store.read(c.name, identity) : undefined;
  const ca = await store.trust(c.name);
  return new Etcd3({
    hosts: `https://127.0.0.1:${c.spec.etcd.port}`,
    dialTimeout: 3000,
    credentials: {
      rootCertificate: Buffer.from(ca),
      ...(pair ? { certChain: Buffer.from(pair.certPem), privateKey: Buffer.from(pair.keyPem) } : {}),
    },
    ...(password ? { auth: { username: 'root', password } } : {}),
  });
};

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

  it(
    "etcd: TLS with the cluster's certificates; without root's password or citusctl's certificate nobody " +
      'writes primaries or locks (nor reads); root can; status reads it',
    async () => {
      const s = readSecrets(c);
      expect(s.etcdRootPassword).toBeTruthy();
      const primary = primaryKey(c.name, 'g1');
      expect(await withEtcd(c, (e) => e.get(primary).string())).toBe('g1-a');

      // The certificate of a member (in its container; signed by the cluster's CA) names no etcd user.
      const anon = await etcdAs(memberIdentityId('g1-a'));
      const wrong = await etcdAs(ORCHESTRATOR_IDENTITY, 'not-the-password');
      const noCert = await etcdAs(undefined, s.etcdRootPassword);
      const plain = new Etcd3({ hosts: `http://127.0.0.1:${c.spec.etcd.port}`, dialTimeout: 3000 });
      const unauthenticated = /permission denied|user name (is empty|not found)/;
      try {
        await expectRejected(
          'unauthenticated put of the g1 primary',
          async () => anon.put(primary).value('g1-b'),
          unauthenticated,
        );
        await expectRejected(
          'unauthenticated put of the g1 lock',
          async () => anon.put(lockKey('g1')).value('intruder'),
          unauthenticated,
        );
        await expectRejected(
          'unauthenticated put of the coordinator lock',
          async () => anon.put(lockKey('coordinator')).value('intruder'),
          unauthenticated,
        );
        await expectRejected(
          'unauthenticated delete of the primaries',
          async () => anon.delete().prefix(`/citusctl/${c.name}/`),
          unauthenticated,
        );
        await expectRejected('unauthenticated read', () => anon.get(primary).string(), unauthenticated);
        await expectRejected('unauthenticated auth disable', () => anon.auth.authDisable(), unauthenticated);
        await expectRejected('a wrong password', async () => wrong.put(primary).value('g1-b'), /authentication failed/);
        // Refused before any password is sent: no client certificate, or no TLS at all.
        await expectRejected('TLS without a client certificate', async () => noCert.put(primary).value('g1-b'), /./);
        await expectRejected('plain HTTP', async () => plain.put(primary).value('g1-b'), /./);
      } finally {
        anon.close();
        wrong.close();
        noCert.close();
        plain.close();
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
    },
  );

  it('etcd: a half-done enable (root added, auth off) converges; a rerun is a no-op; a foreign one fails', async () => {
    const probe = await startTlsEtcd(PROBE_CLUSTER, PROBE_ETCD_PORT);
    const plain = new Etcd3(etcdClientOptions(PROBE_ETCD_PORT, { tls: probe.tls }));
    const member = await probe.store.read(PROBE_CLUSTER, memberIdentityId('g1-a'));
    const anon = new Etcd3(
      etcdClientOptions(PROBE_ETCD_PORT, { tls: { ...probe.tls, cert: member!.certPem, key: member!.keyPem } }),
    );
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
      expect(await etcdAuthEnabled(PROBE_ETCD_PORT, probe.tls)).toBe(false);
      expect(await secureEtcd(PROBE_ETCD_PORT, 'half-done-pw', probe.tls)).toBe('secured');
      expect(await etcdAuthEnabled(PROBE_ETCD_PORT, probe.tls)).toBe(true);
      expect(await secureEtcd(PROBE_ETCD_PORT, 'half-done-pw', probe.tls)).toBe('already-secured');
      await expect(secureEtcd(PROBE_ETCD_PORT, 'someone-elses', probe.tls)).rejects.toThrow(
        /rejects the root password/,
      );
      await expectRejected(
        'unauthenticated put after securing',
        async () => anon.put('/citusctl/x').value('1'),
        /permission denied|user name (is empty|not found)/,
      );
    } finally {
      plain.close();
      anon.close();
      await probe.remove();
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
    const writers = numberedWriters(c, WRITES, WRITERS);
    const { acked, errors } = writers;
    try {
      await writers.waitFor(50); // writing before the switchover starts
      const r = await cliJson<GroupRunJson<SwitchoverResultJson>>(c, ['switchover', 'coordinator'], {
        timeoutMs: 300_000,
      });
      expect(r.result).toMatchObject({ group: 'coordinator', oldPrimary: oldCoordinator, newPrimary: target });
      console.log(
        `[access] coordinator switchover ${oldCoordinator} -> ${target}: clients held ${r.result.pauseMs} ms; ` +
          `steps ${r.steps.map((s) => `${s.name}=${s.detail ?? s.state}`).join('; ')}`,
      );
      await writers.waitFor(50); // and after it
    } finally {
      await writers.stop();
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
