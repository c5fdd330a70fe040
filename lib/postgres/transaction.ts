/** An explicit transaction on one connection, bounded by a statement timeout local to it. */
import type { PgClient } from './client';

/**
 * BEGIN, SET LOCAL statement_timeout, fn, COMMIT; ROLLBACK (best effort) and rethrow when fn or
 * the commit fails.
 */
export async function inTransaction<T>(c: PgClient, statementTimeout: string, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN');
  try {
    await c.query(`SET LOCAL statement_timeout = ${c.escapeLiteral(statementTimeout)}`);
    const result = await fn();
    await c.query('COMMIT');
    return result;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
