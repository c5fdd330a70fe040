/** One physical replication slot per standby on its primary, created only if absent. */
import type { ClusterSpec } from '../common/spec';
import type { ActivityDeps } from './deps';
import { classifyPgError } from './errors';
import { asSuperuser } from './pg-access';

export async function ensureSlot(deps: ActivityDeps, spec: ClusterSpec, primary: string, slot: string): Promise<void> {
  try {
    await asSuperuser(deps, spec, primary, async (c) => {
      const exists = await c.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      if (!exists.rowCount) await c.query('SELECT pg_create_physical_replication_slot($1, true)', [slot]);
    });
  } catch (err) {
    throw classifyPgError(err, `creating slot ${slot} on ${primary}`);
  }
}
