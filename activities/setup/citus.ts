/**
 * Citus runbook activities on the coordinator. Each reads the catalog before acting, because the
 * Citus functions are not all idempotent (create_distributed_table errors when repeated).
 * SQL and pitfalls follow ../shared/docs/citus-operations.md.
 */
import type { Client } from 'pg';
import type { ClusterSpec } from '../../common/spec';
import type { Primaries } from '../../common/topology';
import { APP_USER, PG_PORT } from '../../common/topology';
import { onMember as onMemberOf } from '../pg-access';
import type { ActivityDeps } from '../deps';
import { fatal } from '../../lib/errors';
import { withHeartbeat } from '../heartbeat';

export type { Primaries };

export interface ShardSpread {
  /** Worker primary -> number of the demo table's shard placements it holds (metadata and on disk). */
  perWorker: Record<string, { placements: number; tablesPresent: number }>;
  shardCount: number;
}

const q = (ident: string) => `"${ident.replace(/"/g, '""')}"`;

export function createCitusActivities(deps: ActivityDeps) {
  const onMember = <T>(spec: ClusterSpec, member: string, what: string, fn: (c: Client) => Promise<T>) => onMemberOf(deps, spec, member, what, fn);

  /** --clean: drops the demo table (its shards go with it). Refuses when other tables exist unless force. */
  async function cleanUp(input: { spec: ClusterSpec; primaries: Primaries; force: boolean }): Promise<{ dropped: boolean; otherTables: string[] }> {
    const { spec } = input;
    return withHeartbeat(() => onMember(spec, input.primaries.coordinator, 'clean-up', async (c) => {
      // User tables only: extension members (Citus's own catalogs) are excluded.
      const { rows } = await c.query<{ name: string }>(
        `SELECT format('%I.%I', n.nspname, c.relname) AS name
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema')
            AND n.nspname NOT LIKE 'pg_%'
            AND NOT EXISTS (SELECT 1 FROM pg_depend d
                             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
            AND NOT (n.nspname = 'public' AND c.relname = $1) ORDER BY 1`,
        [spec.demo.table],
      );
      const otherTables = rows.map((r) => r.name);
      if (otherTables.length && !input.force) {
        throw fatal('Refused', `clean-up refused: tables other than the demo table exist (${otherTables.join(', ')}); rerun with ` +
          '--force to clean anyway (they are left alone)');
      }
      const exists = (await c.query('SELECT to_regclass($1) IS NOT NULL AS e', [`public.${spec.demo.table}`])).rows[0]?.e === true;
      if (exists) await c.query(`DROP TABLE public.${q(spec.demo.table)}`);
      return { dropped: exists, otherTables };
    }));
  }

  /**
   * citus_set_coordinator_host, then citus_add_node per worker primary; existing rows are checked, not re-added.
   * Heartbeats: citus_add_node syncs metadata and can outlast the heartbeat timeout on a busy machine.
   */
  async function registerNodes(input: { spec: ClusterSpec; primaries: Primaries }): Promise<{ added: string[]; nodeIds: Record<string, number> }> {
    const { spec, primaries } = input;
    return withHeartbeat(() => onMember(spec, primaries.coordinator, 'node registration', async (c) => {
      const coord = await c.query<{ nodename: string; nodeport: number }>('SELECT nodename, nodeport FROM pg_dist_node WHERE groupid = 0');
      const row = coord.rows[0];
      if (!row || row.nodename !== primaries.coordinator || row.nodeport !== PG_PORT) {
        await c.query('SELECT citus_set_coordinator_host($1, $2)', [primaries.coordinator, PG_PORT]);
      }
      const added: string[] = [];
      const nodeIds: Record<string, number> = {};
      for (const [group, host] of Object.entries(primaries.workers)) {
        const existing = await c.query<{ nodeid: number; noderole: string; isactive: boolean }>(
          'SELECT nodeid, noderole::text AS noderole, isactive FROM pg_dist_node ' +
            'WHERE nodename = $1 AND nodeport = $2',
          [host, PG_PORT],
        );
        const node = existing.rows[0];
        if (node) {
          // citus_add_node would return this id even for an inactive or secondary row: check the row.
          if (node.noderole !== 'primary' || !node.isactive) {
            throw fatal('Invariant', `worker ${host} (group ${group}) is registered as ` +
              `${node.noderole}${node.isactive ? '' : ', inactive'}; fix pg_dist_node before rerunning`);
          }
          nodeIds[host] = node.nodeid;
          continue;
        }
        const r = await c.query<{ nodeid: number }>('SELECT citus_add_node($1, $2) AS nodeid', [host, PG_PORT]);
        nodeIds[host] = r.rows[0]!.nodeid;
        added.push(host);
      }
      return { added, nodeIds };
    }));
  }

  /** Creates and distributes the demo table unless pg_dist_partition already has it. */
  async function distributeDemoTable(input: { spec: ClusterSpec; primaries: Primaries }): Promise<{ distributed: boolean }> {
    const { spec } = input;
    const t = q(spec.demo.table);
    return withHeartbeat(() => onMember(spec, input.primaries.coordinator, 'distribution', async (c) => {
      await c.query(`CREATE TABLE IF NOT EXISTS public.${t} (id bigint PRIMARY KEY, payload text NOT NULL, created_at ` +
        'timestamptz NOT NULL DEFAULT now())');
      const already = await c.query('SELECT 1 FROM pg_dist_partition WHERE logicalrelid = $1::regclass', [`public.${spec.demo.table}`]);
      if (!already.rowCount) {
        await c.query('SELECT create_distributed_table($1, $2, shard_count => $3)', [`public.${spec.demo.table}`, 'id', spec.demo.shardCount]);
      }
      await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON public.${t} TO ${APP_USER}`);
      return { distributed: !already.rowCount };
    }));
  }

  /**
   * Every worker primary holds shards of the demo table: in pg_dist_placement and as real tables.
   * allowEmpty: a worker with no placement at all passes (added after distribution, it gets its
   * shards from a rebalance); a placement without its table never does.
   */
  async function checkShards(input: { spec: ClusterSpec; primaries: Primaries; allowEmpty?: boolean }): Promise<ShardSpread> {
    const { spec, primaries } = input;
    return withHeartbeat(async () => {
      const placements = await onMember(spec, primaries.coordinator, 'shard check', (c) =>
        c.query<{ nodename: string; shards: string[] }>(
          `SELECT n.nodename,
                  coalesce(array_agg(format('%s_%s', $2::text, s.shardid) ORDER BY s.shardid)
                             FILTER (WHERE s.shardid IS NOT NULL), '{}') AS shards
             FROM pg_dist_node n
             LEFT JOIN pg_dist_placement p ON p.groupid = n.groupid
             LEFT JOIN pg_dist_shard s ON s.shardid = p.shardid AND s.logicalrelid = $1::regclass
            WHERE n.noderole = 'primary' AND n.groupid <> 0
            GROUP BY n.nodename`,
          [`public.${spec.demo.table}`, spec.demo.table],
        ),
      );
      const perWorker: ShardSpread['perWorker'] = {};
      let shardCount = 0;
      for (const host of Object.values(primaries.workers)) {
        const shards = placements.rows.find((r) => r.nodename === host)?.shards ?? [];
        const present = shards.length
          ? await onMember(spec, host, 'shard check', async (c) =>
              Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM unnest($1::text[]) AS s WHERE to_regclass(s) IS NOT NULL', [shards])).rows[0]!.n),
            )
          : 0;
        perWorker[host] = { placements: shards.length, tablesPresent: present };
        shardCount += shards.length;
      }
      const empty = Object.entries(perWorker).filter(([, v]) => (v.placements === 0 && !input.allowEmpty) || v.tablesPresent < v.placements);
      if (empty.length) {
        throw fatal('Invariant', 'workers without (all of) their shards: ' +
          `${empty.map(([h, v]) => `${h} (${v.tablesPresent}/${v.placements})`).join(', ')}`);
      }
      return { perWorker, shardCount };
    });
  }

  return { cleanUp, registerNodes, distributeDemoTable, checkShards };
}
