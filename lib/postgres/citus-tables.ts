/**
 * The demo table on the coordinator and its shards: create and distribute it (checked first:
 * create_distributed_table errors when repeated), where its placements are, and a clean-up that
 * leaves other tables alone. SQL from ../shared/docs/citus-operations.md.
 */
import type { PgClient } from './client';
import { publicTable } from './identifiers';

/** User tables other than public.<except> (extension members, Citus's own catalogs, excluded). */
export async function otherUserTables(c: PgClient, except: string): Promise<string[]> {
  const { rows } = await c.query<{ name: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema')
        AND n.nspname NOT LIKE 'pg_%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d
                         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
        AND NOT (n.nspname = 'public' AND c.relname = $1) ORDER BY 1`,
    [except],
  );
  return rows.map((r) => r.name);
}

/** Drops public.<table> when it exists; says whether it did. */
export async function dropPublicTableIfExists(c: PgClient, table: string): Promise<boolean> {
  const exists =
    (await c.query<{ e: boolean }>('SELECT to_regclass($1) IS NOT NULL AS e', [`public.${table}`])).rows[0]?.e === true;
  if (exists) await c.query(`DROP TABLE ${publicTable(table)}`);
  return exists;
}

/**
 * Creates public.<table> (id, payload, created_at) when absent, distributes it by id unless already distributed, grants
 * DML to role.
 */
export async function ensureDistributedDemoTable(
  c: PgClient,
  table: string,
  shardCount: number,
  role: string,
): Promise<{ distributed: boolean }> {
  const t = publicTable(table);
  await c.query(
    `CREATE TABLE IF NOT EXISTS ${t} (id bigint PRIMARY KEY, payload text NOT NULL, created_at timestamptz NOT ` +
      'NULL DEFAULT now())',
  );
  const already = await c.query('SELECT 1 FROM pg_dist_partition WHERE logicalrelid = $1::regclass', [
    `public.${table}`,
  ]);
  if (!already.rowCount) {
    await c.query('SELECT create_distributed_table($1, $2, shard_count => $3)', [`public.${table}`, 'id', shardCount]);
  }
  await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${t} TO ${role}`);
  return { distributed: !already.rowCount };
}

/** Each worker primary's shard table names of public.<table> (from the coordinator's metadata). */
export async function shardPlacements(c: PgClient, table: string): Promise<Array<{ host: string; shards: string[] }>> {
  const { rows } = await c.query<{ nodename: string; shards: string[] }>(
    `SELECT n.nodename,
            coalesce(array_agg(format('%s_%s', $2::text, s.shardid) ORDER BY s.shardid)
                       FILTER (WHERE s.shardid IS NOT NULL), '{}') AS shards
       FROM pg_dist_node n
       LEFT JOIN pg_dist_placement p ON p.groupid = n.groupid
       LEFT JOIN pg_dist_shard s ON s.shardid = p.shardid AND s.logicalrelid = $1::regclass
      WHERE n.noderole = 'primary' AND n.groupid <> 0
      GROUP BY n.nodename`,
    [`public.${table}`, table],
  );
  return rows.map((r) => ({ host: r.nodename, shards: r.shards }));
}

/** How many of the named tables exist on this node. */
export async function tablesPresent(c: PgClient, names: string[]): Promise<number> {
  return Number(
    (
      await c.query<{ n: string }>(
        'SELECT count(*) AS n FROM unnest($1::text[]) AS s WHERE to_regclass(s) IS NOT NULL',
        [names],
      )
    ).rows[0]!.n,
  );
}
