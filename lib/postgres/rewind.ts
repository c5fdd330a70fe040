/**
 * The node side of a rejoin. The rewind-or-base-backup decision runs in the member's bootstrap
 * (pg_rewind first, a fresh base backup when it fails or the WAL it needs is gone); what it needs
 * from the primary is prepared here; the timelines come from readRole (role.ts).
 */
import type { PgClient } from './client';

/**
 * A just-promoted primary's control file still holds its last restartpoint as a standby, which can
 * be far back; pg_rewind would start the member's replay there, in WAL the primary's first
 * checkpoint is about to remove. A checkpoint moves it past the divergence point. Safe to repeat.
 */
export async function checkpointForRewind(c: PgClient): Promise<void> {
  await c.query('CHECKPOINT');
}
