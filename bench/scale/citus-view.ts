/**
 * What the scale bench reads from the cluster, from outside, as an operator would: row counts of
 * the demo table, each worker group's placements and rows (as Citus places them), and what is left
 * of a drained group (Citus node, placements, clean-up records, containers, volumes, etcd keys).
 * Queries go to the coordinator's current primary as the superuser, not through PgBouncer.
 */
import type { Client } from 'pg';
import { groupEventsPrefix, groupPrefix, lockKey, memberStateKey } from '../../common/etcd-keys';
import type { BenchCluster } from '../lib/cluster';
import { benchEtcd } from '../lib/etcd';
import { BENCH_ID_BASE, connectGroupPrimary } from '../lib/targets';
import { withTimeout } from '../lib/util';

export interface RowCounts {
  /** Demo rows (ids below the bench's): never change. */
  demo: number;
  /** Rows the numbered writers added. */
  bench: number;
  total: number;
}

export interface GroupShare {
  group: string;
  node: string;
  groupId: number;
  placements: number;
  /**
   * Rows in the group's placements of the demo table (run_command_on_placements); undefined without it (test double).
   */
  rows?: number;
}

export async function onCoordinator<T>(cluster: BenchCluster, fn: (c: Client) => Promise<T>): Promise<T> {
  const p = await connectGroupPrimary(cluster, 'coordinator', 300_000);
  if (!p) throw new Error('the coordinator group has no primary');
  try {
    return await fn(p.client);
  } finally {
    await p.client.end().catch(() => undefined);
  }
}

export function rowCounts(cluster: BenchCluster): Promise<RowCounts> {
  return onCoordinator(cluster, async (c) => {
    const r = await c.query<{ demo: string; bench: string }>(
      'SELECT count(*) FILTER (WHERE id < $1)::text AS demo, count(*) FILTER (WHERE id >= $1)::text AS bench ' +
        `FROM ${cluster.spec.demo.table}`,
      [BENCH_ID_BASE],
    );
    const demo = Number(r.rows[0]?.demo ?? NaN);
    const bench = Number(r.rows[0]?.bench ?? NaN);
    return { demo, bench, total: demo + bench };
  });
}

/**
 * Placements and rows per worker group. Rows are counted in each placement by Citus itself
 * (run_command_on_placements), so a shard's rows count where pg_dist_placement puts them, and a
 * moved shard's source copy awaiting Citus's deferred drop is not counted twice.
 */
export function groupShares(cluster: BenchCluster): Promise<GroupShare[]> {
  const groupOf = (node: string) => cluster.spec.members.find((m) => m.name === node)?.group ?? `? (${node})`;
  return onCoordinator(cluster, async (c) => {
    const table = cluster.spec.demo.table;
    const nodes = await c.query<{ nodename: string; groupid: number; placements: string }>(
      `SELECT n.nodename, n.groupid,
              (SELECT count(*) FROM pg_dist_placement p JOIN pg_dist_shard s USING (shardid)
                WHERE p.groupid = n.groupid AND s.logicalrelid = $1::regclass)::text AS placements
         FROM pg_dist_node n WHERE n.noderole = 'primary' AND n.groupid <> 0 ORDER BY n.groupid`,
      [table],
    );
    const hasRun = (await c.query("SELECT 1 FROM pg_proc WHERE proname = 'run_command_on_placements'")).rowCount;
    const rows = new Map<string, number>();
    if (hasRun) {
      const r = await c.query<{ nodename: string; ok: boolean; n: string; bad: string }>(
        `SELECT nodename, bool_and(success) AS ok, coalesce(sum(result::bigint) FILTER (WHERE success), 0)::text AS n,
                string_agg(result, '; ') FILTER (WHERE NOT success) AS bad
           FROM run_command_on_placements($1::regclass, 'SELECT count(*) FROM %s') GROUP BY nodename`,
        [table],
      );
      for (const x of r.rows) {
        if (!x.ok) throw new Error(`counting rows in the placements on ${x.nodename}: ${x.bad}`);
        rows.set(x.nodename, Number(x.n));
      }
    }
    return nodes.rows.map((n) => ({
      group: groupOf(n.nodename),
      node: n.nodename,
      groupId: n.groupid,
      placements: Number(n.placements),
      ...(hasRun ? { rows: rows.get(n.nodename) ?? 0 } : {}),
    }));
  });
}

export interface Leftovers {
  /** pg_dist_node rows naming a member of the group. */
  citusNodes: number;
  /** pg_dist_placement rows of the group's Citus group id (any table). */
  placements: number;
  /** pg_dist_cleanup records of that group id (source copies awaiting Citus's deferred drop). */
  cleanupRecords: number;
  containers: string[];
  volumes: string[];
  etcdKeys: string[];
}

/** What is left of `group` (`groupId`: its Citus group id before the drain). */
export async function leftovers(cluster: BenchCluster, group: string, groupId: number | undefined): Promise<Leftovers> {
  const members = cluster.members(group).map((m) => m.name);
  const citus = await onCoordinator(cluster, async (c) => {
    const nodes = await c.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM pg_dist_node WHERE nodename = ANY($1)',
      [members],
    );
    const gid = groupId ?? -1;
    const placements = await c.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM pg_dist_placement WHERE groupid = $1',
      [gid],
    );
    const hasCleanup = (await c.query("SELECT 1 FROM pg_class WHERE relname = 'pg_dist_cleanup'")).rowCount;
    const cleanup = hasCleanup
      ? await c.query<{ n: string }>('SELECT count(*)::text AS n FROM pg_dist_cleanup WHERE node_group_id = $1', [gid])
      : undefined;
    return {
      citusNodes: Number(nodes.rows[0]?.n),
      placements: Number(placements.rows[0]?.n),
      cleanupRecords: Number(cleanup?.rows[0]?.n ?? 0),
    };
  });
  const label = ['--filter', `label=citusctl.cluster=${cluster.name}`, '--filter', `label=citusctl.group=${group}`];
  const containers = (await cluster.docker(['ps', '-a', ...label, '--format', '{{.Names}}']))
    .split('\n')
    .filter(Boolean);
  const volumes = (await cluster.docker(['volume', 'ls', ...label, '--format', '{{.Name}}']))
    .split('\n')
    .filter(Boolean);
  return { ...citus, containers, volumes, etcdKeys: await etcdKeysOf(cluster, group, members) };
}

/** Keys of the group and of its members in etcd. */
async function etcdKeysOf(cluster: BenchCluster, group: string, members: string[]): Promise<string[]> {
  const etcd = benchEtcd(cluster);
  try {
    return await withTimeout(10_000, 'etcd', async () => {
      const keys: string[] = [];
      for (const prefix of [groupPrefix(cluster.name, group), groupEventsPrefix(cluster.name, group)])
        keys.push(...(await etcd.getAll().prefix(prefix).keys()));
      for (const key of [lockKey(cluster.name, group), ...members.map((m) => memberStateKey(cluster.name, m))])
        if ((await etcd.get(key).string()) !== null) keys.push(key);
      return keys;
    });
  } finally {
    etcd.close();
  }
}
