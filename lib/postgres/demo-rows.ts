/** Rows of the demo table public.<table>: counts and ids in a range, all rows, and a COPY of new ones. */
import type { ClientBase } from 'pg';
import type { PgClient } from './client';
import { copyFromChunks } from './copy';
import { publicTable } from './identifiers';

export async function countIdsBetween(c: PgClient, table: string, from: number, to: number): Promise<number> {
  return Number(
    (
      await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${publicTable(table)} WHERE id BETWEEN $1 AND $2`, [
        from,
        to,
      ])
    ).rows[0]!.n,
  );
}

export async function idsBetween(c: PgClient, table: string, from: number, to: number): Promise<number[]> {
  return (
    await c.query<{ id: string }>(`SELECT id FROM ${publicTable(table)} WHERE id BETWEEN $1 AND $2`, [from, to])
  ).rows.map((r) => Number(r.id));
}

export async function countRows(c: PgClient, table: string): Promise<number> {
  return Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${publicTable(table)}`)).rows[0]!.n);
}

/** One COPY (one transaction) of (id, payload) text rows. */
export function copyDemoRows(
  c: Pick<ClientBase, 'query'>,
  table: string,
  chunks: Iterable<string>,
  signal?: AbortSignal,
): Promise<number> {
  return copyFromChunks(c, `COPY ${publicTable(table)} (id, payload) FROM STDIN`, chunks, signal);
}
