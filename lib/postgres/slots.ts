/** Physical replication slots on a primary: one per standby, so the primary keeps WAL a standby still needs. */
import type { PgClient } from './client';

export interface SlotInfo {
  name: string;
  type: string;
  active: boolean;
  /** The WAL the slot holds back (restart_lsn); null for a slot that never reserved WAL. */
  restartLsn: string | null;
}

export async function listSlots(c: PgClient): Promise<SlotInfo[]> {
  const r = await c.query<{ slot_name: string; slot_type: string; active: boolean; restart_lsn: string | null }>(
    'SELECT slot_name, slot_type, active, restart_lsn::text AS restart_lsn ' +
      'FROM pg_replication_slots ORDER BY slot_name',
  );
  return r.rows.map((x) => ({ name: x.slot_name, type: x.slot_type, active: x.active, restartLsn: x.restart_lsn }));
}

/** Creates the slot (reserving WAL at once) unless it exists; returns whether it created it. */
export async function ensurePhysicalSlot(c: PgClient, slot: string): Promise<boolean> {
  const exists = await c.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  if (exists.rowCount) return false;
  await c.query('SELECT pg_create_physical_replication_slot($1, true)', [slot]);
  return true;
}

/**
 * Drops the slot if it exists and no walsender uses it; returns whether it dropped it. An active
 * slot is left alone (dropping it would fail): the caller decides whether to stop its standby.
 */
export async function dropSlot(c: PgClient, slot: string): Promise<boolean> {
  const idle = await c.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [slot]);
  if (!idle.rowCount) return false;
  await c.query('SELECT pg_drop_replication_slot($1)', [slot]);
  return true;
}
