/** One physical replication slot per standby on its primary, created only if absent. */
import type { ClusterSpec } from '../common/spec';
import { SUPERUSER } from '../common/topology';
import type { ActivityDeps } from './deps';
import { classifyPgError, fatal } from './errors';

export async function ensureSlot(deps: ActivityDeps, spec: ClusterSpec, primary: string, slot: string): Promise<void> {
  const member = spec.members.find((m) => m.name === primary);
  if (!member) throw fatal('BadConfig', `unknown member ${primary}`);
  const s = await deps.secrets.ensure(spec.name);
  try {
    await deps.pg.withClient({ port: member.port, user: SUPERUSER, password: s.superuserPassword }, async (c) => {
      const exists = await c.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      if (!exists.rowCount) await c.query('SELECT pg_create_physical_replication_slot($1, true)', [slot]);
    });
  } catch (err) {
    throw classifyPgError(err, `creating slot ${slot} on ${primary}`);
  }
}
