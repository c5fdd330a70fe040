/** One node's view of another: can it open a connection to it now? */
import { oneRow, type PgClient } from './client';

/**
 * Citus's own connectivity check from the node `c` is connected to (citus_check_connection_to_node:
 * a new connection to host:port and a trivial query, false when that fails), bounded for this
 * session by citus.node_connection_timeout, whose default (30 s) would make a partitioned node
 * look merely slow. Works on a hot standby too (it writes nothing).
 */
export async function canConnectTo(c: PgClient, host: string, port: number, timeoutMs: number): Promise<boolean> {
  await c.query("SELECT set_config('citus.node_connection_timeout', $1, false)", [
    String(Math.max(10, Math.round(timeoutMs))),
  ]);
  return (
    (await oneRow<{ ok: boolean | null }>(c, 'SELECT citus_check_connection_to_node($1, $2) AS ok', [host, port]))
      .ok === true
  );
}
