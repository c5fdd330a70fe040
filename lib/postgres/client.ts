/** What every node operation takes: a connected pg client (PgConnector.withClient hands one out). */
import type { ClientBase } from 'pg';

export type PgClient = Pick<ClientBase, 'query' | 'escapeLiteral'>;

/** The first row of a query that always returns one (SELECT of functions). */
export async function oneRow<R extends Record<string, unknown>>(
  c: PgClient,
  sql: string,
  params: unknown[] = [],
): Promise<R> {
  const row = (await c.query<R>(sql, params)).rows[0];
  if (!row) throw new Error(`no row from: ${sql.split('\n')[0]}`);
  return row;
}
