/**
 * A three-member etcd (common/etcd-members.ts, lib/docker/node-containers.ts etcdMemberContainer)
 * of real etcd containers on the local engine, built from the definitions directly (not through
 * `up`): peer and client TLS from the cluster's CA, each member reached at an address of the host
 * (the cluster network's gateway, standing for a host's address) and its own published ports
 * 31470-31475, as members on three hosts would be. One client is given every endpoint, as the
 * orchestrator's is. Secured with one member not started yet; then killing the leader, then a
 * second member, restarting them, and re-creating one with an empty volume (lib/etcd-cluster-repair.ts).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Etcd3 } from 'etcd3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installEtcdMemberTls } from '../../activities/setup/etcd-tls';
import { etcdClusterAt, etcdEndpoints, etcdMemberOf, type EtcdCluster } from '../../common/etcd-members';
import { LABEL_CLUSTER } from '../../common/labels';
import { parseSpec, type ClusterSpec } from '../../common/spec';
import { containerName, networkName, volumeName } from '../../common/topology';
import { createClusterStore } from '../../lib/cluster-store';
import { ensureNetwork } from '../../lib/docker/docker-helpers';
import { etcdAuthEnabled, etcdClientOptions, secureEtcd } from '../../lib/etcd-auth';
import {
  listEtcdMembers,
  readmitEtcdMember,
  repairEtcdMember,
  startEtcdMember,
  type EtcdMemberRepairDeps,
  type EtcdMemberTarget,
} from '../../lib/etcd-cluster-repair';
import { keepAliveOnce } from '../../lib/etcd-lease';
import { ensureClusterTls } from '../../lib/tls/cluster-tls';
import { orchestratorTls, type ClientTls } from '../../lib/tls/orchestrator-tls';
import { TlsStore } from '../../lib/tls/tls-store';
import { docker, sleep, testImages } from './support/cluster';

jest.setTimeout(4 * 60_000);

const CLUSTER = 'it-etcd3';
const PASSWORD = 'it-etcd3-root-password';
const HOSTS = ['a', 'b', 'c'] as const;
const CLIENT_PORT = 31470;
const PEER_PORT = 31473;

let root: string;
let spec: ClusterSpec;
let store: TlsStore;
let tls: ClientTls;
let etcd: EtcdCluster;
let client: Etcd3;
let deps: EtcdMemberRepairDeps;
let gateway: string;

const member = (host: string) => `etcd-${host}`;
const target = (host: string): EtcdMemberTarget => ({
  cluster: CLUSTER,
  etcd,
  member: member(host),
  image: testImages().etcd,
  publishOn: gateway,
});
const kill = (host: string) => docker.getContainer(containerName(CLUSTER, member(host))).kill();

/** A client on one member's endpoint only: what it answers, that member served. */
function oneMember(host: string): Etcd3 {
  return new Etcd3(etcdClientOptions([etcdMemberOf(etcd, member(host)).clientUrl], { tls }));
}

async function eventually<T>(what: string, fn: () => Promise<T>, withinMs = 60_000): Promise<T> {
  const until = Date.now() + withinMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > until) throw new Error(`${what}: ${(err as Error).message}`);
      await sleep(300);
    }
  }
}

async function removeAll(): Promise<void> {
  const filters = { label: [`${LABEL_CLUSTER}=${CLUSTER}`] };
  for (const c of await docker.listContainers({ all: true, filters }))
    await docker.getContainer(c.Id).remove({ force: true, v: true });
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(v.Name).remove();
  await docker
    .getNetwork(networkName(CLUSTER))
    .remove()
    .catch(() => undefined);
}

beforeAll(async () => {
  await removeAll();
  root = fs.mkdtempSync(path.join(os.tmpdir(), `citusctl-${CLUSTER}-`));
  await ensureNetwork(docker, networkName(CLUSTER), CLUSTER);
  const net = await docker.getNetwork(networkName(CLUSTER)).inspect();
  gateway = net.IPAM?.Config?.[0]?.Gateway as string;
  // Three "hosts" on the one engine, each reached at the gateway: certificates name that address.
  spec = parseSpec({
    name: CLUSTER,
    hosts: HOSTS.map((name) => ({ name, endpoint: 'unix:///var/run/docker.sock', address: gateway })),
    workers: ['g1'],
    members: [
      { name: 'coord-a', group: 'coordinator', port: 31476, host: 'a' },
      { name: 'g1-a', group: 'g1', port: 31477, host: 'b' },
    ],
    etcd: { port: CLIENT_PORT, hosts: [...HOSTS] },
  });
  store = new TlsStore(root);
  await ensureClusterTls(store, spec);
  tls = orchestratorTls(store, CLUSTER)!;
  // The ports differ per member only because the three "hosts" share one engine.
  etcd = etcdClusterAt(
    CLUSTER,
    HOSTS.map((host, i) => ({ host, address: gateway, clientPort: CLIENT_PORT + i, peerPort: PEER_PORT + i })),
  );
  deps = {
    docker,
    etcd: undefined as unknown as Etcd3,
    installTls: (m) => installEtcdMemberTls({ docker, tls: store }, spec, m),
  };
  // Two of three bootstrap the cluster (a quorum) and it is secured with the third not started yet.
  for (const h of ['a', 'b']) expect(await startEtcdMember(deps, target(h))).toEqual({ started: true });
  expect(await eventually('secure', () => secureEtcd(etcdEndpoints(etcd), PASSWORD, tls))).toBe('secured');
  expect(await startEtcdMember(deps, target('c'))).toEqual({ started: true });
  // As the orchestrator's: every endpoint, root by its certificate.
  client = new Etcd3(etcdClientOptions(etcdEndpoints(etcd), { tls }));
  deps.etcd = client;
});

afterAll(async () => {
  client?.close();
  await removeAll();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

/** The host whose member leads, as the members answering say. */
async function leaderHost(): Promise<string> {
  const byId = new Map((await listEtcdMembers(client)).map((m) => [m.id, m.name]));
  const status = await client.maintenance.status();
  const name = byId.get(String(status.leader));
  if (!name) throw new Error(`no known leader (${String(status.leader)})`);
  return name.slice('etcd-'.length);
}

/** Milliseconds until a write through the client with every endpoint succeeds again (a figure, not asserted). */
async function msUntilWrites(key: string): Promise<number> {
  const t0 = Date.now();
  await eventually(`write ${key}`, async () => {
    await client.put(key).value('1');
  });
  return Date.now() - t0;
}

describe('a three-member etcd with peer TLS', () => {
  let leader: string;
  let second: string;
  let third: string;

  it('forms one cluster of three started members, secured once', async () => {
    const members = await eventually('three started members', async () => {
      const list = await listEtcdMembers(client);
      if (list.some((m) => m.name === '')) throw new Error('a member has not started');
      return list;
    });
    expect(members.map((m) => m.name).sort()).toEqual(['etcd-a', 'etcd-b', 'etcd-c']);
    // The member started after auth was enabled enforces it too (cluster state, through raft).
    expect(await eventually('auth on c', () => etcdAuthEnabled([etcdMemberOf(etcd, 'etcd-c').clientUrl], tls))).toBe(
      true,
    );
    expect(await startEtcdMember(deps, target('a'))).toEqual({ started: false });
    expect(await secureEtcd(etcdEndpoints(etcd), PASSWORD, tls)).toBe('already-secured');
    await expect(secureEtcd(etcdEndpoints(etcd), 'not-the-password', tls)).rejects.toThrow(/rejects the root password/);
    await client.put('/it/written').value('through-all');
    for (const h of HOSTS) {
      const one = oneMember(h);
      try {
        expect(await one.get('/it/written').string()).toBe('through-all');
      } finally {
        one.close();
      }
    }
    leader = await leaderHost();
    [second, third] = HOSTS.filter((h) => h !== leader) as [string, string];
  });

  it('with its leader killed, elects another; reads, writes, lease renewals and the group lock go on', async () => {
    await kill(leader);
    // A write in flight when the leader dies waits for etcd's own timeout: callers retry (Temporal).
    console.log(
      `etcd-cluster: writes again ${await msUntilWrites('/it/after-leader-kill')} ms after the leader was killed`,
    );
    for (let i = 0; i < 30; i++) {
      await client.put(`/it/one-down/${i}`).value(String(i));
      expect(await client.get(`/it/one-down/${i}`).string()).toBe(String(i));
    }
    const locks = createClusterStore(client, CLUSTER);
    const got = await locks.tryAcquireLock('g1', 'it-owner', 10);
    expect(got.acquired).toBe(true);
    const lease = got.acquired ? got.lease : '';
    for (let i = 0; i < 20; i++) {
      const renewed = await locks.renewLock('g1', lease);
      expect(renewed.ttl).toBeGreaterThan(0);
      expect(renewed.holder?.owner).toBe('it-owner');
      expect(await keepAliveOnce(client, lease)).toBeGreaterThan(0);
    }
    expect(await locks.tryAcquireLock('g1', 'someone-else', 10)).toEqual({ acquired: false, holder: 'it-owner' });
    expect(await locks.releaseLock('g1', 'it-owner')).toBe(true);
    expect(await secureEtcd(etcdEndpoints(etcd), PASSWORD, tls)).toBe('already-secured');
  });

  it('with two killed refuses writes (no quorum), and writes again once one is back', async () => {
    await kill(second);
    const failed = await client
      .put('/it/no-quorum')
      .value('x')
      .then(
        () => undefined,
        (err: Error) => err,
      );
    expect(failed).toBeInstanceOf(Error);
    expect(failed!.message).toMatch(/deadline|unavailable|leader|timed out/i);
    // It comes back with its data directory: a quorum again.
    expect(await repairEtcdMember(deps, target(second))).toBe('restarted');
    console.log(
      `etcd-cluster: writes again ${await msUntilWrites('/it/quorum-again')} ms after a second member restarted`,
    );
    expect(await client.get('/it/quorum-again').string()).toBe('1');
  });

  it('a killed member restarted from its data directory rejoins and catches up', async () => {
    expect(await repairEtcdMember(deps, target(leader))).toBe('restarted');
    const back = oneMember(leader);
    try {
      // Written while it was down: a linearizable read on it serves them once it is back in the cluster.
      expect(await eventually('read on the restarted member', () => back.get('/it/one-down/29').string())).toBe('29');
      expect(await back.get('/it/quorum-again').string()).toBe('1');
    } finally {
      back.close();
    }
    expect(await repairEtcdMember(deps, target(leader))).toBe('running');
  });

  it('a member re-created with an empty volume is removed, added again and rejoins', async () => {
    const before = await listEtcdMembers(client);
    const oldId = before.find((m) => m.name === member(third))!.id;
    await docker.getContainer(containerName(CLUSTER, member(third))).remove({ force: true });
    await docker.getVolume(volumeName(CLUSTER, member(third))).remove();
    // An earlier attempt that got as far as `member add` and crashed: the repair must not add twice.
    // etcd refuses a membership change until every other member has been connected for 5 s
    // ("unhealthy cluster"): the caller retries, as here.
    await eventually('readmit', () => readmitEtcdMember(client, etcd, member(third)));
    expect(await eventually('repair', () => repairEtcdMember(deps, target(third)))).toBe('rejoined');
    const rejoined = oneMember(third);
    try {
      expect(await eventually('read on the rejoined member', () => rejoined.get('/it/one-down/29').string())).toBe(
        '29',
      );
    } finally {
      rejoined.close();
    }
    const after = await eventually('the member started', async () => {
      const list = await listEtcdMembers(client);
      if (list.some((m) => m.name === '')) throw new Error('a member is added but not started');
      return list;
    });
    expect(after).toHaveLength(3);
    expect(after.find((m) => m.name === member(third))!.id).not.toBe(oldId);
    expect(await repairEtcdMember(deps, target(third))).toBe('running');
    // The rejoined member counts toward the quorum: with another down, the two left still take writes.
    await kill(second);
    console.log(`etcd-cluster: writes again ${await msUntilWrites('/it/after-rejoin')} ms after killing another`);
    expect(await client.get('/it/after-rejoin').string()).toBe('1');
  });
});
