/**
 * The end state of a cluster after `citusctl up`, read directly from PostgreSQL, etcd and Docker
 * (never through citusctl), and a snapshot of everything a no-op rerun must leave untouched.
 */
import { expect } from '@jest/globals';
import * as path from 'node:path';
import { Client } from 'pg';
import {
  docker,
  etcdKeys,
  pgpassLookup,
  primaryKey,
  readSecrets,
  slotName,
  su,
  topology,
  topologyKey,
  withEtcd,
  type TestCluster,
} from './cluster';
import { pgbouncerSsl } from './pgbouncer-tls';

export const pgpassFile = (c: TestCluster) => path.join(c.stateDir, 'clusters', c.name, 'pgpass');

/** Exact demo row count through PgBouncer as the app user, password from the pgpass file. */
export async function rowsThroughPgBouncer(c: TestCluster): Promise<number> {
  const password = pgpassLookup(pgpassFile(c), c.spec.pgbouncer.port, 'app');
  expect(password).toBeDefined();
  const cl = new Client({
    host: '127.0.0.1',
    port: c.spec.pgbouncer.port,
    user: 'app',
    password: password!,
    database: 'postgres',
    connectionTimeoutMillis: 5000,
    ssl: pgbouncerSsl(c),
  });
  cl.on('error', () => undefined);
  await cl.connect();
  try {
    return Number(
      (await cl.query<{ n: string }>(`SELECT count(*) AS n FROM public."${c.spec.demo.table}"`)).rows[0]!.n,
    );
  } finally {
    await cl.end().catch(() => undefined);
  }
}

export async function coordinatorRows(c: TestCluster): Promise<number> {
  return su(c, topology(c).coordinator, async (cl) =>
    Number((await cl.query<{ n: string }>(`SELECT count(*) AS n FROM public."${c.spec.demo.table}"`)).rows[0]!.n),
  );
}

interface NodeRow {
  nodeid: number;
  groupid: number;
  nodename: string;
  nodeport: number;
  noderole: string;
  isactive: boolean;
}

export async function distNodes(c: TestCluster): Promise<NodeRow[]> {
  return su(
    c,
    topology(c).coordinator,
    async (cl) =>
      (
        await cl.query<NodeRow>(
          'SELECT nodeid, groupid, nodename, nodeport, noderole::text AS noderole, isactive FROM pg_dist_node ' +
            'ORDER BY nodeid',
        )
      ).rows,
  );
}

/** Slot names on every member that is not in recovery, keyed by member. */
export async function slotsByPrimary(c: TestCluster): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const g of topology(c).groups) {
    out[g.primary] = await su(c, g.primary, async (cl) =>
      (await cl.query<{ s: string }>('SELECT slot_name AS s FROM pg_replication_slots ORDER BY 1')).rows.map(
        (r) => r.s,
      ),
    );
  }
  return out;
}

/** Asserts the whole end state of a set-up cluster. */
export async function assertEndState(c: TestCluster): Promise<void> {
  const topo = topology(c);
  const secrets = readSecrets(c);
  const table = c.spec.demo.table;

  // --- Citus metadata on the coordinator
  const nodes = await distNodes(c);
  const coordRows = nodes.filter((n) => n.groupid === 0);
  expect(coordRows).toHaveLength(1);
  expect(coordRows[0]).toMatchObject({ nodename: topo.coordinator, nodeport: 5432, noderole: 'primary' });
  const workerRows = nodes.filter((n) => n.groupid !== 0);
  // each exactly once, nothing else
  expect(workerRows.map((n) => n.nodename).sort()).toEqual(topo.workers.map((w) => w.primary).sort());
  for (const w of workerRows) expect(w).toMatchObject({ nodeport: 5432, noderole: 'primary', isactive: true });

  const partitioned = await su(
    c,
    topo.coordinator,
    async (cl) =>
      (await cl.query('SELECT 1 FROM pg_dist_partition WHERE logicalrelid = $1::regclass', [`public.${table}`]))
        .rowCount,
  );
  expect(partitioned).toBe(1);

  // --- every worker holds shards, in the catalog and as tables on the worker
  const placements = await su(
    c,
    topo.coordinator,
    async (cl) =>
      (
        await cl.query<{ groupid: number; shards: string[] }>(
          `SELECT p.groupid, array_agg(format('%s_%s', $2::text, s.shardid) ORDER BY s.shardid) AS shards
           FROM pg_dist_placement p JOIN pg_dist_shard s USING (shardid)
          WHERE s.logicalrelid = $1::regclass GROUP BY p.groupid`,
          [`public.${table}`, table],
        )
      ).rows,
  );
  let totalPlacements = 0;
  for (const w of workerRows) {
    const shards = placements.find((p) => p.groupid === w.groupid)?.shards ?? [];
    expect({ worker: w.nodename, placements: shards.length > 0 }).toEqual({ worker: w.nodename, placements: true });
    totalPlacements += shards.length;
    const missing = await su(c, w.nodename, async (cl) =>
      (
        await cl.query<{ s: string }>('SELECT s FROM unnest($1::text[]) AS s WHERE to_regclass(s) IS NULL', [shards])
      ).rows.map((r) => r.s),
    );
    expect({ worker: w.nodename, missingShardTables: missing }).toEqual({ worker: w.nodename, missingShardTables: [] });
  }
  expect(totalPlacements).toBe(c.spec.demo.shardCount);

  // --- exact row count through PgBouncer as the app user
  expect(pgpassLookup(pgpassFile(c), c.spec.pgbouncer.port, 'app')).toBe(secrets.appPassword);
  expect(await rowsThroughPgBouncer(c)).toBe(c.spec.demo.rows);

  // --- streaming standbys, exactly one slot per standby, named after the standby
  for (const g of topo.groups) {
    for (const s of g.standbys) {
      const inRecovery = await su(
        c,
        s,
        async (cl) => (await cl.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r,
      );
      expect({ standby: s, inRecovery }).toEqual({ standby: s, inRecovery: true });
    }
    const slots = await su(
      c,
      g.primary,
      async (cl) =>
        (
          await cl.query<{ slot_name: string; slot_type: string; state: string | null }>(
            'SELECT s.slot_name, s.slot_type, r.state FROM pg_replication_slots s LEFT JOIN ' +
              'pg_stat_replication r ON r.pid = s.active_pid ORDER BY 1',
          )
        ).rows,
    );
    expect({ primary: g.primary, slots }).toEqual({
      primary: g.primary,
      slots: g.standbys
        .map((s) => ({ slot_name: slotName(s), slot_type: 'physical', state: 'streaming' }))
        .sort((a, b) => a.slot_name.localeCompare(b.slot_name)),
    });
    const primaryInRecovery = await su(
      c,
      g.primary,
      async (cl) => (await cl.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r,
    );
    expect({ primary: g.primary, inRecovery: primaryInRecovery }).toEqual({ primary: g.primary, inRecovery: false });
  }

  // --- no trust in pg_hba on any node
  for (const m of c.spec.members) {
    const trust = await su(c, m.name, async (cl) =>
      Number(
        (await cl.query<{ n: string }>("SELECT count(*) AS n FROM pg_hba_file_rules WHERE auth_method = 'trust'"))
          .rows[0]!.n,
      ),
    );
    expect({ member: m.name, trustLines: trust }).toEqual({ member: m.name, trustLines: 0 });
  }

  // --- etcd: topology and the live primary of each group
  await withEtcd(c, async (etcd) => {
    const doc = JSON.parse((await etcd.get(topologyKey(c.name)).string()) ?? 'null') as {
      cluster?: string;
      groups?: { group: string; members: { name: string }[] }[];
    } | null;
    expect(doc?.cluster).toBe(c.name);
    expect(doc?.groups?.map((g) => g.group)).toEqual(topo.groups.map((g) => g.group));
    for (const g of topo.groups)
      expect({ group: g.group, primary: await etcd.get(primaryKey(c.name, g.group)).string() }).toEqual({
        group: g.group,
        primary: g.primary,
      });
  });

  // --- containers: labels and 127.0.0.1-only publication
  await assertContainers(c);
}

export async function assertContainers(c: TestCluster): Promise<void> {
  const expected: { member: string; group: string; port?: number }[] = [
    ...c.spec.members.map((m) => ({ member: m.name, group: m.group, port: m.port })),
    { member: 'pgbouncer', group: 'pgbouncer', port: c.spec.pgbouncer.port },
    { member: 'etcd', group: 'etcd', port: c.spec.etcd.port },
    // The backup container publishes nothing: citusctl reaches it through Docker only.
    ...(c.spec.backup.enabled ? [{ member: 'backup', group: 'backup' }] : []),
  ];
  const listed = await docker.listContainers({ all: true, filters: { label: [`citusctl.cluster=${c.name}`] } });
  expect(listed.map((x) => x.Labels['citusctl.member']).sort()).toEqual(expected.map((e) => e.member).sort());
  for (const e of expected) {
    const info = await docker.getContainer(`citusctl-${c.name}-${e.member}`).inspect();
    expect({ member: e.member, running: info.State.Running }).toEqual({ member: e.member, running: true });
    expect(info.Config.Labels).toMatchObject({
      'citusctl.cluster': c.name,
      'citusctl.group': e.group,
      'citusctl.member': e.member,
    });
    const published = Object.entries(info.NetworkSettings.Ports ?? {}).flatMap(([port, bindings]) =>
      (bindings ?? []).map((b) => ({ port, hostIp: b.HostIp, hostPort: b.HostPort })),
    );
    if (e.port === undefined) {
      expect({ member: e.member, published }).toEqual({ member: e.member, published: [] });
      continue;
    }
    expect(published.length).toBeGreaterThan(0);
    for (const b of published)
      expect({ member: e.member, ...b }).toEqual({
        member: e.member,
        port: b.port,
        hostIp: '127.0.0.1',
        hostPort: b.hostPort,
      });
    expect(published.map((b) => Number(b.hostPort))).toContain(e.port);
    const configured = Object.values(info.HostConfig.PortBindings ?? {}).flatMap(
      (bs) => (bs as { HostIp?: string }[] | null) ?? [],
    );
    for (const b of configured)
      expect({ member: e.member, hostIp: b.HostIp }).toEqual({ member: e.member, hostIp: '127.0.0.1' });
  }
}

export interface Snapshot {
  nodes: unknown[];
  slots: Record<string, string[]>;
  rows: number;
  etcdModRevisions: Record<string, string | undefined>;
  containers: Record<string, { id: string; startedAt: string }>;
}

/** What a no-op rerun must not change. */
export async function snapshot(c: TestCluster): Promise<Snapshot> {
  const nodes = await su(
    c,
    topology(c).coordinator,
    async (cl) => (await cl.query('SELECT * FROM pg_dist_node ORDER BY nodeid')).rows,
  );
  const slots = await slotsByPrimary(c);
  const rows = await coordinatorRows(c);
  const etcdModRevisions = await withEtcd(c, async (etcd) => {
    const out: Record<string, string | undefined> = {};
    for (const key of etcdKeys(c)) out[key] = (await etcd.get(key).exec()).kvs[0]?.mod_revision;
    return out;
  });
  const containers: Snapshot['containers'] = {};
  for (const ct of await docker.listContainers({ all: true, filters: { label: [`citusctl.cluster=${c.name}`] } })) {
    const info = await docker.getContainer(ct.Id).inspect();
    containers[info.Name.replace(/^\//, '')] = { id: info.Id, startedAt: info.State.StartedAt };
  }
  return { nodes, slots, rows, etcdModRevisions, containers };
}
