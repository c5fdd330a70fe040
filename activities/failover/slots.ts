/** One physical replication slot per standby on its primary, created only if absent. */
import type { ClusterSpec } from '../../common/spec';
import { ensurePhysicalSlot } from '../../lib/postgres';
import type { ActivityDeps } from '../deps';
import { classifyPgError } from '../../lib/errors';
import { asSuperuser } from '../pg-access';

export async function ensureSlot(deps: ActivityDeps, spec: ClusterSpec, primary: string, slot: string): Promise<void> {
  try {
    await asSuperuser(deps, spec, primary, (c) => ensurePhysicalSlot(c, slot));
  } catch (err) {
    throw classifyPgError(err, `creating slot ${slot} on ${primary}`);
  }
}
