/**
 * What a standby worker process keeps warm while it waits: one etcd client per cluster of the
 * state directory, authenticated (etcd checks the password with bcrypt, and its token lapses after
 * minutes of silence), and Docker's connection. Measured on real Citus, the first lock of a failover
 * on a process that had not talked to etcd yet took 0.3-0.7 s instead of 0.05-0.25 s.
 * Reads only; errors are ignored: the cluster may be down, which is why a failover runs.
 */
import type { ActivityDeps } from '../activities/deps';
import { storeOf } from '../activities/store';
import { withDeadline } from '../activities/monitor/bounded';
import { COORDINATOR_GROUP } from '../common/topology';
import { storedClusterSpecs } from '../lib/cluster-spec-file';

const DEADLINE_MS = 5_000;

export async function warmClients(deps: Pick<ActivityDeps, 'etcd' | 'docker'>, root: string): Promise<void> {
  const reads = storedClusterSpecs(root).map((spec) =>
    withDeadline(storeOf(deps, spec).livePrimary(COORDINATOR_GROUP), DEADLINE_MS, `etcd of ${spec.name}`),
  );
  await Promise.allSettled([...reads, withDeadline(deps.docker.ping(), DEADLINE_MS, 'docker ping')]);
}
