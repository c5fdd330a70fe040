/**
 * Validation as the first activity, so a workflow started from the UI with a bad spec fails before anything is created.
 */
import type { ClusterSpec } from '../../common/spec';
import { SpecError, parseSpec } from '../../common/spec';
import { unbuildableHosts } from '../../common/hosts';
import type { ActivityDeps } from '../deps';
import { fatal } from '../../lib/errors';
import { withHeartbeat } from '../heartbeat';
import { ensureClusterTls } from '../../lib/tls/cluster-tls';

export function createSpecActivities(deps: ActivityDeps) {
  async function validateSpec(input: unknown): Promise<ClusterSpec> {
    return withHeartbeat(async () => {
      try {
        const spec = parseSpec(input);
        const hostsRefusal = unbuildableHosts(spec);
        if (hostsRefusal) throw fatal('BadConfig', hostsRefusal);
        await deps.secrets.ensure(spec.name); // generated once, never passed through the workflow
        await ensureClusterTls(deps.tls, spec); // the CA and a certificate for every member the spec names
        return spec;
      } catch (err) {
        if (err instanceof SpecError) throw fatal('BadConfig', err.message, { problems: err.problems });
        throw err;
      }
    });
  }
  return { validateSpec };
}
