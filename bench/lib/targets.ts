/**
 * Where the numbered writer writes:
 *  - through PgBouncer as the app user into the cluster's demo table (how a client writes, in
 *    every mode; on the Citus test double the rows stay on the coordinator, which routes nothing);
 *  - directly to a worker group's primary (table bench_writes), finding it the way a client with a
 *    multi-host connection string would: ask every member, keep the one out of recovery. Used on
 *    the test double, where it is the only writer that sees a worker group's fault.
 */
import { Client } from 'pg';
import type { BenchCluster } from './cluster';
import type { IdSource, WriteConn, WriteTarget } from './writer';

/** Bench rows get ids far above the demo rows. */
export const BENCH_ID_BASE = 1_000_000_000_000;
const QUERY_TIMEOUT_MS = 2000;
const READ_CHUNK = 5000;

async function readIds(c: Client, sql: string, ids: number[]): Promise<Set<number>> {
  const present = new Set<number>();
  for (let i = 0; i < ids.length; i += READ_CHUNK) {
    const r = await c.query<{ id: string }>(sql, [ids.slice(i, i + READ_CHUNK)]);
    for (const row of r.rows) present.add(Number(row.id));
  }
  return present;
}

export class PgBouncerTarget implements WriteTarget {
  readonly label: string;

  constructor(
    private readonly cluster: BenchCluster,
    note: string,
  ) {
    this.label =
      `through PgBouncer 127.0.0.1:${cluster.spec.pgbouncer.port} (user app) into ` +
      `${cluster.spec.demo.table}${note ? ` ${note}` : ''}`;
  }

  private get table(): string {
    return this.cluster.spec.demo.table;
  }

  /** First free bench id. */
  async firstId(): Promise<number> {
    return this.cluster.withClient(this.cluster.app(), async (c) => {
      const r = await c.query<{ m: string }>(
        `SELECT coalesce(max(id), 0)::bigint AS m FROM ${this.table} WHERE id >= $1`,
        [BENCH_ID_BASE],
      );
      return Math.max(BENCH_ID_BASE, Number(r.rows[0]?.m ?? 0) + 1);
    });
  }

  async connect(): Promise<WriteConn | undefined> {
    const c = new Client(this.cluster.app({ query_timeout: QUERY_TIMEOUT_MS }));
    c.on('error', () => undefined);
    try {
      await c.connect();
      return { client: c, via: 'pgbouncer' };
    } catch (err) {
      await c.end().catch(() => undefined);
      throw err;
    }
  }

  async insert(c: Client, id: number): Promise<void> {
    await c.query(`INSERT INTO ${this.table} (id, payload) VALUES ($1, 'bench')`, [id]);
  }

  async readBack(ids: number[]): Promise<{ present: Set<number>; from: string }> {
    const present = await this.cluster.withClient(this.cluster.app({ query_timeout: 30_000 }), (c) =>
      readIds(c, `SELECT id FROM ${this.table} WHERE id = ANY($1::bigint[])`, ids),
    );
    return { present, from: 'pgbouncer' };
  }
}

/** The member of `group` that is out of recovery: exactly one, or none (throws on more than one). */
export async function connectGroupPrimary(
  cluster: BenchCluster,
  group: string,
  queryTimeoutMs = QUERY_TIMEOUT_MS,
): Promise<WriteConn | undefined> {
  const tries = await Promise.all(
    cluster.members(group).map(async (m) => {
      const c = new Client(cluster.superuser(m.name, { query_timeout: queryTimeoutMs, connectionTimeoutMillis: 1000 }));
      c.on('error', () => undefined);
      try {
        await c.connect();
        const rec = (await c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]?.r;
        return { c, member: m.name, primary: rec === false };
      } catch {
        await c.end().catch(() => undefined);
        return undefined;
      }
    }),
  );
  const primaries = tries.filter((t) => t?.primary);
  const keep = primaries.length === 1 ? primaries[0] : undefined;
  for (const t of tries) if (t && t !== keep) await t.c.end().catch(() => undefined);
  if (primaries.length > 1)
    throw new Error(`split brain in ${group}: ${primaries.map((p) => p?.member).join(', ')} are all out of recovery`);
  return keep ? { client: keep.c, via: keep.member } : undefined;
}

export class DirectTarget implements WriteTarget {
  readonly label: string;

  constructor(
    private readonly cluster: BenchCluster,
    readonly group: string,
  ) {
    this.label = `directly to ${group}'s primary (table bench_writes; re-routed by pg_is_in_recovery() over ${cluster
      .members(group)
      .map((m) => m.port)
      .join(', ')})`;
  }

  /** Creates bench_writes on the group's primary (streamed to its standbys); returns the first free id. */
  async prepare(): Promise<number> {
    const p = await connectGroupPrimary(this.cluster, this.group, 30_000);
    if (!p) throw new Error(`${this.group} has no primary`);
    try {
      await p.client.query(
        'CREATE TABLE IF NOT EXISTS bench_writes (id bigint PRIMARY KEY, acked_at timestamptz NOT NULL DEFAULT now())',
      );
      return (
        Number(
          (await p.client.query<{ m: string }>('SELECT coalesce(max(id), 0)::bigint AS m FROM bench_writes')).rows[0]
            ?.m ?? 0,
        ) + 1
      );
    } finally {
      await p.client.end().catch(() => undefined);
    }
  }

  connect(): Promise<WriteConn | undefined> {
    return connectGroupPrimary(this.cluster, this.group);
  }

  async insert(c: Client, id: number): Promise<void> {
    await c.query('INSERT INTO bench_writes (id) VALUES ($1)', [id]);
  }

  async readBack(ids: number[]): Promise<{ present: Set<number>; from: string }> {
    const p = await connectGroupPrimary(this.cluster, this.group, 30_000);
    if (!p) throw new Error(`${this.group} has no primary to read back from`);
    try {
      return {
        present: await readIds(p.client, 'SELECT id FROM bench_writes WHERE id = ANY($1::bigint[])', ids),
        from: p.via,
      };
    } finally {
      await p.client.end().catch(() => undefined);
    }
  }
}

/**
 * Real Citus only: ids whose shard of the demo table lives on `group` (its pg_dist_node group id
 * survives a failover), computed up front on the coordinator so the writer needs nothing else.
 */
export class GroupShardIds implements IdSource {
  private queue: number[] = [];
  private cursor: number;

  constructor(start: number) {
    this.cursor = start;
  }

  /** Adds at least `count` ids (scanning from the cursor) whose shard is on `group`. */
  async fill(cluster: BenchCluster, coordinator: string, group: string, count: number): Promise<void> {
    const members = cluster.members(group).map((m) => m.name);
    await cluster.withClient(cluster.superuser(coordinator, { query_timeout: 60_000 }), async (c) => {
      const g = await c.query<{ groupid: number }>(
        "SELECT DISTINCT groupid FROM pg_dist_node WHERE nodename = ANY($1) AND noderole = 'primary' AND groupid <> 0",
        [members],
      );
      if (g.rows.length !== 1)
        throw new Error(`pg_dist_node: expected one group id for ${group}, got ${g.rows.length}`);
      const groupId = g.rows[0]?.groupid;
      while (this.queue.length < count) {
        const batch = 20_000;
        const r = await c.query<{ id: string }>(
          `SELECT g.id FROM generate_series($1::bigint, $2::bigint) AS g(id)
            WHERE (SELECT p.groupid FROM pg_dist_placement p
                    WHERE p.shardid = get_shard_id_for_distribution_column($3::regclass, g.id) LIMIT 1) = $4`,
          [this.cursor, this.cursor + batch - 1, cluster.spec.demo.table, groupId],
        );
        this.queue.push(...r.rows.map((x) => Number(x.id)));
        this.cursor += batch;
      }
    });
  }

  next(): number {
    const id = this.queue.shift();
    if (id === undefined) throw new Error('ran out of precomputed ids on the faulted group (raise the fill count)');
    return id;
  }
}
