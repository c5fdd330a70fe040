/**
 * The health check's view of the cluster's services: etcd (status, alarms, the recorded primaries,
 * member states and maintenance), PgBouncer (every process's admin console: the database entry and SHOW POOLS)
 * and Citus on the coordinator primary (citus_check_cluster_node_health(), pg_dist_node). Each is
 * bounded by a deadline and reports what it could not reach instead of throwing.
 */
import { addressOf } from '../../common/addressing';
import type { CitusObservation, EtcdObservation, PgBouncerObservation } from '../../common/health-observation';
import type { ClusterSpec } from '../../common/spec';
import { SUPERUSER, groupsOf } from '../../common/topology';
import { UNDEFINED_FUNCTION, citusNodeHealth, distNodes } from '../../lib/postgres/health-queries';
import type { ActivityDeps } from '../deps';
import { errMessage, withDeadline } from '../../lib/deadline';
import { combineProcesses, showPools } from '../../lib/postgres/pgbouncer-admin';
import { bouncerDatabase, onEveryBouncer } from '../setup/pgbouncer-admin';
import { storeOf } from '../store';
import { memberTls } from '../../lib/tls/pg-tls';

const ETCD_MS = 5_000;
const BOUNCER_MS = 5_000;
/** citus_check_cluster_node_health() waits up to citus.node_connection_timeout (30 s) for a node that hangs. */
const CITUS_MS = 40_000;

export async function observeEtcd(deps: ActivityDeps, spec: ClusterSpec): Promise<EtcdObservation> {
  const read = async (): Promise<EtcdObservation> => {
    const etcd = deps.etcd.client(spec);
    const store = storeOf(deps, spec);
    const [status, alarm, snapshot, maintenance] = await Promise.all([
      etcd.maintenance.status(),
      etcd.maintenance.alarm({ action: 'Get', memberID: 0, alarm: 'None' }),
      store.snapshot(groupsOf(spec).map((g) => g.group)),
      store.readMaintenance(),
    ]);
    const m = maintenance as { cluster?: unknown; groups?: unknown } | null;
    return {
      ok: true,
      version: status.version,
      dbSizeBytes: Number(status.dbSize),
      leader: String(status.leader),
      alarms: (alarm.alarms ?? []).map((a) => `${String(a.alarm)} on member ${String(a.memberID)}`),
      primaries: snapshot.primaries,
      memberStates: snapshot.memberStates,
      ...(m && typeof m === 'object'
        ? {
            maintenance: {
              cluster: m.cluster === true,
              groups: Array.isArray(m.groups) ? m.groups.filter((g): g is string => typeof g === 'string') : [],
            },
          }
        : {}),
    };
  };
  try {
    return await withDeadline(read(), ETCD_MS, `etcd on 127.0.0.1:${spec.etcd.port}`);
  } catch (err) {
    return { ok: false, error: errMessage(err) };
  }
}

export async function observePgBouncer(deps: ActivityDeps, spec: ClusterSpec): Promise<PgBouncerObservation> {
  try {
    return await withDeadline(
      // Every process (they share the port): pools summed, the database entry as all of them have it.
      onEveryBouncer(deps, spec, async (c) => ({
        database: (await bouncerDatabase(c)) ?? null,
        pools: await showPools(c),
      })).then((views) => ({ ok: true as const, ...combineProcesses(views) })),
      BOUNCER_MS,
      `PgBouncer's admin console (${spec.pgbouncer.processes} process(es), through their unix sockets)`,
    );
  } catch (err) {
    return { ok: false, error: errMessage(err) };
  }
}

export async function observeCitus(
  deps: ActivityDeps,
  spec: ClusterSpec,
  coordinator: string,
  password: string,
): Promise<CitusObservation> {
  const member = spec.members.find((m) => m.name === coordinator);
  if (!member) return { ok: false, coordinator, error: `${coordinator} is not a member of the spec` };
  const read = async () =>
    deps.pg.withClient(
      {
        host: addressOf(spec, coordinator),
        port: member.port,
        user: SUPERUSER,
        password,
        tls: await memberTls(deps.tls, spec.name, coordinator),
        connectTimeoutMs: 3_000,
        queryTimeoutMs: CITUS_MS,
      },
      async (c) => {
        const rows = await distNodes(c);
        let nodeHealth: Extract<CitusObservation, { ok: true }>['nodeHealth'];
        try {
          nodeHealth = { available: true, rows: await citusNodeHealth(c) };
        } catch (err) {
          if ((err as { code?: string }).code !== UNDEFINED_FUNCTION) throw err;
          nodeHealth = { available: false, reason: 'this Citus has no citus_check_cluster_node_health()' };
        }
        return { ok: true as const, coordinator, nodeHealth, distNodes: rows };
      },
    );
  try {
    return await withDeadline(read(), CITUS_MS + 5_000, `Citus on ${coordinator}`);
  } catch (err) {
    return { ok: false, coordinator, error: errMessage(err) };
  }
}
