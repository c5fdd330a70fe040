/**
 * `citusctl status`: every member with group, role and replication state, the Citus workers, the
 * demo table's shards per worker, live primaries in etcd, and the endpoints. Never a password.
 */
import Docker from 'dockerode';
import { Etcd3 } from 'etcd3';
import { containerState } from '../lib/docker/docker-helpers';
import type { ClusterSpec } from '../common/spec';
import { createClusterStore } from '../lib/cluster-store';
import { etcdClientOptions } from '../lib/etcd-auth';
import { APP_USER, DATABASE, SUPERUSER, containerName, groupsOf } from '../common/topology';
import { createPgConnector } from '../lib/pg-connector';
import { readRole, replicationRows } from '../lib/postgres';
import { SecretStore } from '../lib/secrets';
import { pgpassPath, stateDir } from '../lib/state-dir';
import { controlPlaneStatus, type ControlPlaneStatus } from './status-control-plane';

export interface MemberStatus {
  name: string;
  group: string;
  container: string;
  state: string;
  role: 'primary' | 'standby' | 'unknown';
  timeline?: number;
  replication?: { standby: string; state: string; lagBytes: number; syncState: string }[];
  error?: string;
}

export interface StatusReport {
  cluster: string;
  members: MemberStatus[];
  citusWorkers: { nodename: string; nodeport: number; noderole: string; isactive: boolean; shards: number }[];
  livePrimaries: Record<string, string | null>;
  lastFailover: Record<string, unknown>;
  endpoints: { name: string; host: string; port: number; user: string; database: string }[];
  pgpass: string;
  /** Supervised worker, Temporal, monitor. */
  controlPlane: ControlPlaneStatus;
}

export async function status(spec: ClusterSpec): Promise<StatusReport> {
  const docker = new Docker();
  const pg = createPgConnector();
  const root = stateDir();
  const secrets = await new SecretStore(root).read(spec.name);
  const members: MemberStatus[] = [];
  for (const m of spec.members) {
    const container = containerName(spec.name, m.name);
    const state = await containerState(docker, container);
    const ms: MemberStatus = { name: m.name, group: m.group, container, state, role: 'unknown' };
    if (state === 'running' && secrets) {
      try {
        await pg.withClient({ port: m.port, user: SUPERUSER, password: secrets.superuserPassword }, async (c) => {
          const role = await readRole(c);
          ms.role = role.inRecovery ? 'standby' : 'primary';
          ms.timeline = role.timeline ?? undefined;
          if (!role.inRecovery) ms.replication = await replicationRows(c);
        });
      } catch (err) {
        ms.error = (err as Error).message;
      }
    }
    members.push(ms);
  }
  const coordinatorPrimary = members.find((m) => m.group === 'coordinator' && m.role === 'primary');
  let citusWorkers: StatusReport['citusWorkers'] = [];
  if (coordinatorPrimary && secrets) {
    const port = spec.members.find((m) => m.name === coordinatorPrimary.name)!.port;
    citusWorkers = await pg
      .withClient({ port, user: SUPERUSER, password: secrets.superuserPassword }, async (c) => {
        const r = await c.query<{ nodename: string; nodeport: number; noderole: string; isactive: boolean; shards: string }>(
          `SELECT n.nodename, n.nodeport, n.noderole::text AS noderole, n.isactive,
                  (SELECT count(*) FROM pg_dist_placement p JOIN pg_dist_shard s USING (shardid)
                    WHERE p.groupid = n.groupid AND s.logicalrelid = to_regclass($1)) AS shards
             FROM pg_dist_node n WHERE n.groupid <> 0 ORDER BY n.nodeid`,
          [`public.${spec.demo.table}`],
        );
        return r.rows.map((x) => ({ ...x, shards: Number(x.shards) }));
      })
      .catch(() => []);
  }
  const livePrimaries: Record<string, string | null> = {};
  const lastFailover: Record<string, unknown> = {};
  if ((await containerState(docker, containerName(spec.name, 'etcd'))) === 'running') {
    // etcd requires the root password from the secrets file.
    const etcd = new Etcd3(etcdClientOptions(spec.etcd.port, secrets?.etcdRootPassword, 2000));
    const store = createClusterStore(etcd, spec.name);
    try {
      for (const g of groupsOf(spec)) {
        livePrimaries[g.group] = await store.livePrimary(g.group);
        const last = await store.lastFailover(g.group);
        if (last) lastFailover[g.group] = last;
      }
    } catch {
      // etcd unreachable: leave empty
    } finally {
      etcd.close();
    }
  }
  const endpoints = [
    { name: 'pgbouncer', host: '127.0.0.1', port: spec.pgbouncer.port, user: APP_USER, database: DATABASE },
    ...spec.members.flatMap((m) => [{ name: m.name, host: '127.0.0.1', port: m.port, user: SUPERUSER, database: DATABASE }]),
    { name: 'etcd', host: '127.0.0.1', port: spec.etcd.port, user: '', database: '' },
  ];
  const controlPlane = await controlPlaneStatus(spec);
  return { cluster: spec.name, members, citusWorkers, livePrimaries, lastFailover, endpoints, pgpass: pgpassPath(root, spec.name), controlPlane };
}
