/**
 * The healthCheck workflow's activities: one per part of the cluster, each returning what it saw
 * (a part that does not answer is reported, not thrown: a health check must not fail because the
 * cluster is unhealthy), and one that stores the report in etcd. They only read, so a retry is
 * always safe; they throw only when retrying cannot help (no secrets: the cluster was never set up
 * with this state directory) or, for the store, when etcd did not take the write.
 */
import type {
  CitusObservation,
  EtcdObservation,
  MonitorObservation,
  NodeObservation,
  PgBouncerObservation,
} from '../../common/health-observation';
import type { HealthReport } from '../../common/health-report';
import type { ClusterSpec } from '../../common/spec';
import { healthReportKey } from '../../common/etcd-keys';
import type { ActivityDeps } from '../deps';
import { fatal, notReady } from '../../lib/errors';
import { withHeartbeat } from '../heartbeat';
import { observeMonitor } from './health-monitor';
import { observeNode } from './health-nodes';
import { observeCitus, observeEtcd, observePgBouncer } from './health-services';
import { observeBackups } from './health-backups';
import type { BackupObservation } from '../../common/backup-health';

export function createHealthActivities(deps: ActivityDeps) {
  async function superuserPassword(spec: ClusterSpec): Promise<string> {
    const s = await deps.secrets.read(spec.name);
    if (!s?.superuserPassword)
      throw fatal(
        'BadConfig',
        `no secrets for cluster ${spec.name} in this state directory: \`citusctl up\` has not run with it`,
      );
    return s.superuserPassword;
  }

  async function healthNodes(input: { spec: ClusterSpec }): Promise<NodeObservation[]> {
    const { spec } = input;
    const password = await superuserPassword(spec);
    return withHeartbeat(() => Promise.all(spec.members.map((m) => observeNode(deps, spec, m, password))));
  }

  async function healthEtcd(input: { spec: ClusterSpec }): Promise<EtcdObservation> {
    return withHeartbeat(() => observeEtcd(deps, input.spec));
  }

  async function healthCitus(input: { spec: ClusterSpec; coordinator: string }): Promise<CitusObservation> {
    const password = await superuserPassword(input.spec);
    return withHeartbeat(() => observeCitus(deps, input.spec, input.coordinator, password));
  }

  async function healthPgBouncer(input: { spec: ClusterSpec }): Promise<PgBouncerObservation> {
    await superuserPassword(input.spec); // the admin password lives in the same file: no cluster, no secrets to invent
    return withHeartbeat(() => observePgBouncer(deps, input.spec));
  }

  /** With `cluster`, also every workflow of the cluster whose workflow task keeps failing. */
  async function healthMonitor(input: {
    workflowId: string;
    query: string;
    cluster?: string;
  }): Promise<MonitorObservation> {
    return withHeartbeat(() => observeMonitor(input.workflowId, input.query, input.cluster));
  }

  /** Archiving of every group's live primary, the repository and the backup catalog (metrics fed from it). */
  async function healthBackups(input: {
    spec: ClusterSpec;
    primaries: Record<string, string>;
  }): Promise<BackupObservation> {
    const obs = await withHeartbeat(() => observeBackups(deps, input.spec, input.primaries));
    deps.metrics?.observeBackups(input.spec, obs);
    return obs;
  }

  /** Puts the report (plain JSON, no secrets) under healthReportKey; the same report again is the same write. */
  async function storeHealthReport(input: { spec: ClusterSpec; report: HealthReport }): Promise<{ key: string }> {
    const key = healthReportKey(input.spec.name);
    return withHeartbeat(async () => {
      try {
        await deps.etcd.client(input.spec).put(key).value(JSON.stringify(input.report));
      } catch (err) {
        throw notReady(`storing the health report in etcd: ${(err as Error).message}`);
      }
      return { key };
    });
  }

  return { healthNodes, healthEtcd, healthCitus, healthPgBouncer, healthMonitor, healthBackups, storeHealthReport };
}
