/**
 * Citus node metadata on the coordinator (pg_dist_node): registration, re-pointing a group at a
 * new primary, the coordinator's own row, metadata sync, and the pause a switchover holds. One
 * typed function per statement (SQL from ../shared/docs/citus-operations.md).
 */
import type { PgClient } from './client';

export interface NodeRegistration {
  nodeId: number;
  role: string;
  active: boolean;
}

/** The coordinator's own row (group 0), if registered. */
export async function coordinatorNode(c: PgClient): Promise<{ host: string; port: number } | undefined> {
  const row = (
    await c.query<{ nodename: string; nodeport: number }>(
      'SELECT nodename, nodeport FROM pg_dist_node WHERE groupid = 0',
    )
  ).rows[0];
  return row ? { host: row.nodename, port: row.nodeport } : undefined;
}

/** citus_set_coordinator_host: also syncs metadata to the workers. */
export async function setCoordinatorHost(c: PgClient, host: string, port: number): Promise<void> {
  await c.query('SELECT citus_set_coordinator_host($1, $2)', [host, port]);
}

/** The row registered for host:port, whatever its role and state. */
export async function nodeRegistration(c: PgClient, host: string, port: number): Promise<NodeRegistration | undefined> {
  const row = (
    await c.query<{ nodeid: number; noderole: string; isactive: boolean }>(
      'SELECT nodeid, noderole::text AS noderole, isactive FROM pg_dist_node WHERE nodename = $1 AND nodeport = $2',
      [host, port],
    )
  ).rows[0];
  return row ? { nodeId: row.nodeid, role: row.noderole, active: row.isactive } : undefined;
}

/** citus_add_node; returns the node id. */
export async function addNode(c: PgClient, host: string, port: number): Promise<number> {
  return (await c.query<{ nodeid: number }>('SELECT citus_add_node($1, $2) AS nodeid', [host, port])).rows[0]!.nodeid;
}

/** The worker primaries among these nodes (groups other than the coordinator's). */
export async function workerPrimaryRows(
  c: PgClient,
  nodes: ReadonlyArray<{ host: string; port: number }>,
): Promise<Array<{ nodeId: number; host: string }>> {
  const rows = (
    await c.query<{ nodeid: number; nodename: string }>(
      'SELECT nodeid, nodename FROM pg_dist_node WHERE (nodename, nodeport) IN ' +
        '(SELECT * FROM unnest($1::text[], $2::int[])) AND noderole = ' +
        "'primary' AND groupid <> 0",
      [nodes.map((n) => n.host), nodes.map((n) => n.port)],
    )
  ).rows;
  return rows.map((r) => ({ nodeId: r.nodeid, host: r.nodename }));
}

/** The primary row's id for host:port, if any. */
export async function primaryNodeId(c: PgClient, host: string, port: number): Promise<number | undefined> {
  return (
    await c.query<{ nodeid: number }>(
      "SELECT nodeid FROM pg_dist_node WHERE nodename = $1 AND nodeport = $2 AND noderole = 'primary'",
      [host, port],
    )
  ).rows[0]?.nodeid;
}

/**
 * citus_update_node. `terminate`: force, with lock_cooldown 0 (the blocking backends are terminated
 * at once: for a failover, whose old primary can never commit them); else it waits for the locks
 * (inside a switchover's pause, where nothing holds them).
 */
export async function updateNode(
  c: PgClient,
  nodeId: number,
  host: string,
  port: number,
  terminate: boolean,
): Promise<void> {
  if (terminate)
    await c.query('SELECT citus_update_node($1, $2, $3, force => true, lock_cooldown => 0)', [nodeId, host, port]);
  else await c.query('SELECT citus_update_node($1, $2, $3)', [nodeId, host, port]);
}

/** Every primary with metadata has it synced (true when none lacks it). */
export async function metadataSynced(c: PgClient): Promise<boolean> {
  return (
    (
      await c.query<{ synced: boolean | null }>(
        "SELECT bool_and(metadatasynced) AS synced FROM pg_dist_node WHERE hasmetadata AND noderole = 'primary'",
      )
    ).rows[0]?.synced !== false
  );
}

/** Asks for the metadata sync now (idempotent), bounded by 10 s; the maintenance daemon still syncs if this cannot. */
export async function requestMetadataSync(c: PgClient): Promise<void> {
  await c.query("SET statement_timeout = '10s'");
  await c.query('SELECT start_metadata_sync_to_all_nodes()').catch(() => undefined);
  await c.query('RESET statement_timeout');
}

/** Holds writes to the node's group until the transaction ends (citus_pause_node_within_txn). */
export async function pauseNodeWithinTxn(c: PgClient, nodeId: number): Promise<void> {
  await c.query('SELECT citus_pause_node_within_txn($1)', [nodeId]);
}
