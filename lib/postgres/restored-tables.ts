/**
 * What a backup verification reads in a restored cluster, on its coordinator: every Citus table
 * (pg_dist_partition) and its row count. A table that cannot be read is reported with its error.
 */
import type { PgClient } from './client';

/** Every Citus table, schema-qualified and quoted by PostgreSQL (`format('%I.%I')`). */
export async function citusTableNames(c: PgClient): Promise<string[]> {
  const r = await c.query<{ name: string }>(
    `SELECT format('%I.%I', n.nspname, t.relname) AS name
       FROM pg_dist_partition p JOIN pg_class t ON t.oid = p.logicalrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      ORDER BY 1`,
  );
  return r.rows.map((x) => x.name);
}

/** The rows of every Citus table, or the error reading it. */
export async function countCitusTables(c: PgClient): Promise<{ name: string; rows: number | null; error?: string }[]> {
  const out: { name: string; rows: number | null; error?: string }[] = [];
  for (const name of await citusTableNames(c)) {
    try {
      // The name comes from format('%I.%I'): quoted as identifiers by PostgreSQL itself.
      const r = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`);
      out.push({ name, rows: Number(r.rows[0]!.n) });
    } catch (err) {
      out.push({ name, rows: null, error: (err as Error).message });
    }
  }
  return out;
}
