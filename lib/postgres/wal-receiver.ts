/** A standby's WAL receiver (pg_stat_wal_receiver): whom it streams from. */
import { oneRow, type PgClient } from './client';

export interface WalReceiver {
  status: string;
  senderHost: string | null;
  slotName: string | null;
}

/** The receiver's state; undefined when there is none (a primary, or a standby not connected). */
export async function walReceiver(c: PgClient): Promise<WalReceiver | undefined> {
  const row = (
    await c.query<{ status: string; sender_host: string | null; slot_name: string | null }>(
      'SELECT status, sender_host, slot_name FROM pg_stat_wal_receiver',
    )
  ).rows[0];
  return row ? { status: row.status, senderHost: row.sender_host, slotName: row.slot_name } : undefined;
}

/** In recovery, and the host its receiver streams from now (null when it does not stream). One round trip. */
export async function streamingSource(c: PgClient): Promise<{ inRecovery: boolean; senderHost: string | null }> {
  const row = await oneRow<{ rec: boolean; host: string | null }>(
    c,
    'SELECT pg_is_in_recovery() AS rec, ' +
      "(SELECT sender_host FROM pg_stat_wal_receiver WHERE status = 'streaming') AS host",
  );
  return { inRecovery: row.rec, senderHost: row.host };
}
