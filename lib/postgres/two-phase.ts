/**
 * Two-phase commit leftovers. A Citus transaction that spans nodes PREPAREs on each, commits on
 * the coordinator, then COMMIT PREPAREs on each; a worker primary that dies in between leaves the
 * PREPAREd transaction (replicated synchronously) on its promoted standby, holding its row locks
 * until Citus resolves it: its maintenance daemon does so only every `citus.recover_2pc_interval`
 * (1 min by default), `recover_prepared_transactions()` at once.
 */
import { oneRow, type PgClient } from './client';

/** The global ids of the transactions PREPAREd on this node and not yet committed or rolled back. */
export async function preparedTransactionIds(c: PgClient): Promise<string[]> {
  return (await c.query<{ gid: string }>('SELECT gid FROM pg_prepared_xacts ORDER BY prepared')).rows.map((r) => r.gid);
}

/** Which of these global ids are still PREPAREd on this node. */
export async function stillPrepared(c: PgClient, gids: string[]): Promise<string[]> {
  if (!gids.length) return [];
  return (
    await c.query<{ gid: string }>('SELECT gid FROM pg_prepared_xacts WHERE gid = ANY($1::text[]) ORDER BY prepared', [
      gids,
    ])
  ).rows.map((r) => r.gid);
}

/**
 * On the coordinator: Citus commits every PREPAREd transaction on the nodes whose distributed
 * transaction committed and rolls back the others (skipping those still in progress); returns how
 * many it resolved. Idempotent: a second call finds nothing to do.
 */
export async function recoverPreparedTransactions(c: PgClient): Promise<number> {
  return Number((await oneRow<{ n: number | string }>(c, 'SELECT recover_prepared_transactions() AS n')).n);
}
