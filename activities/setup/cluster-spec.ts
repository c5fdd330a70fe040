/**
 * The spec stored with the cluster: written at setup (state directory and etcd), read back by
 * workflows started with only `{ cluster }` (the Temporal UI, a schedule), which then need no spec
 * in their input. The state directory is where it is read from: etcd's port is in the spec.
 */
import type { ClusterSpec } from '../../common/spec';
import { parseSpec, SpecError } from '../../common/spec';
import { readClusterSpec, writeClusterSpec } from '../../lib/cluster-spec-file';
import { specPath, stateDir } from '../../lib/state-dir';
import type { ActivityDeps } from '../deps';
import { fatal, notReady } from '../../lib/errors';
import { withHeartbeat } from '../heartbeat';
import { storeOf } from '../store';

export interface StoreClusterSpecResult {
  /** Whether each copy changed (false: it already held exactly this spec). */
  stateDir: boolean;
  etcd: boolean;
}

const CLUSTER_NAME = /^[a-z][a-z0-9-]{0,29}[a-z0-9]$|^[a-z]$/;

/** The spec stored with the cluster under the state directory `root` (UnknownCluster when there is none). */
export async function readStoredSpec(root: string, input: { cluster: string }): Promise<ClusterSpec> {
  const cluster = input?.cluster;
  if (typeof cluster !== 'string' || !CLUSTER_NAME.test(cluster)) {
    throw fatal(
      'BadConfig',
      `cluster: ${JSON.stringify(cluster)} is not a cluster name (1-31 characters of a-z, 0-9 and "-", ` +
        'starting with a letter)',
    );
  }
  const stored = await readClusterSpec(root, cluster);
  if (stored === undefined) {
    throw fatal(
      'UnknownCluster',
      `no cluster ${cluster} set up here (${specPath(root, cluster)} does not exist): set it up first ` +
        `(setupCluster with {"spec":{"name":"${cluster}"}}, or citusctl up), or pass the whole spec as ` +
        '{"spec": ...}',
    );
  }
  try {
    return parseSpec(stored);
  } catch (err) {
    if (err instanceof SpecError)
      throw fatal(
        'BadConfig',
        `the stored spec of ${cluster} (${specPath(root, cluster)}) is no longer valid: ${err.message}`,
        { problems: err.problems },
      );
    throw err;
  }
}

export function createClusterSpecActivities(deps: ActivityDeps) {
  const root = () => stateDir(deps.env);

  /** Idempotent: each copy is written only when it differs. */
  async function storeClusterSpec(spec: ClusterSpec): Promise<StoreClusterSpecResult> {
    // etcd's dial and call deadlines together can pass the heartbeat timeout of its proxy.
    return withHeartbeat(async () => {
      const file = await writeClusterSpec(root(), spec.name, spec);
      let etcd: boolean;
      try {
        etcd = await storeOf(deps, spec).publishSpec(spec);
      } catch (err) {
        throw notReady(`storing the spec of ${spec.name} in etcd: ${(err as Error).message}`);
      }
      return { stateDir: file, etcd };
    });
  }

  async function loadClusterSpec(input: { cluster: string }): Promise<ClusterSpec> {
    return withHeartbeat(() => readStoredSpec(root(), input));
  }

  return { storeClusterSpec, loadClusterSpec };
}
