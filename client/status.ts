/**
 * `citusctl status`: every member with group, role and replication state, the Citus workers, the
 * demo table's shards per worker, live primaries in etcd, and the endpoints. Never a password.
 * Members, etcd and the control plane are read at the same time; members through the one member
 * observation (lib/observation/member.ts) that the monitor and the health check use.
 */
import { etcdClusterOf, isMultiMember } from '../common/etcd-members';
import { addressOf, clientHosts, hostOfContainer, isMultiHost, pgbouncerHosts } from '../common/addressing';
import Docker from 'dockerode';
import type { MemberReading } from '../common/member-observation';
import type { ClusterSpec } from '../common/spec';
import { APP_USER, DATABASE, ETCD_MEMBER, SUPERUSER, containerName, groupsOf } from '../common/topology';
import { createClusterStore } from '../lib/cluster-store';
import { observeContainer } from '../lib/docker/container-status';
import { etcdConnector } from '../lib/etcd-connector';
import { CHECK_BUDGET, observeMember } from '../lib/observation/member';
import { engineFor } from '../lib/docker/engine-client';
import { createPgConnector, type PgConnector } from '../lib/pg-connector';
import { workerShards, type WorkerShards } from '../lib/postgres/health-queries';
import { SecretStore } from '../lib/secrets';
import { pgpassPath, stateDir } from '../lib/state-dir';
import { memberTls } from '../lib/tls/pg-tls';
import { TlsStore } from '../lib/tls/tls-store';
import { controlPlaneStatus, type ControlPlaneStatus } from './status-control-plane';
import { memberStatus, type MemberStatus } from './status-members';
import { backupStatus, type BackupStatus } from './status-backups';
import { hostsStatus, type HostsStatus } from './status-hosts';

export type { MemberStatus };

export interface StatusReport {
  cluster: string;
  members: MemberStatus[];
  citusWorkers: WorkerShards[];
  livePrimaries: Record<string, string | null>;
  lastFailover: Record<string, unknown>;
  endpoints: { name: string; host: string; port: number; user: string; database: string }[];
  /** Where clients connect: every PgBouncer (`host=a,b port=p,p target_session_attrs=read-write` with several). */
  clients: string;
  pgpass: string;
  /** The cluster's trust bundle: `sslrootcert` of a verify-full client. */
  caPath: string;
  /** Supervised worker, Temporal, monitor. */
  controlPlane: ControlPlaneStatus;
  /** The backup container, the repository and the newest backup, restore point and verification. */
  backups?: BackupStatus;
  /** Each Docker host: engine, worker, what runs there (only for a spec that lists hosts). */
  hosts?: HostsStatus;
}

/** Without secrets (not set up from this state directory) only Docker is asked. */
async function readMembers(
  docker: Docker,
  pg: PgConnector,
  tls: TlsStore,
  spec: ClusterSpec,
  password: string | undefined,
): Promise<MemberStatus[]> {
  // Several hosts: each member's container as its own host's engine sees it.
  const engineOf = (member: string) => (isMultiHost(spec) ? engineFor(hostOfContainer(spec, member)) : docker);
  const readings: Array<Pick<MemberReading, 'container' | 'sql'>> = password
    ? await Promise.all(
        spec.members.map((m) =>
          observeMember({ docker: engineOf(m.name), pg, tls }, spec, m.name, password, CHECK_BUDGET),
        ),
      )
    : await Promise.all(
        spec.members.map(async (m) => ({
          container: await observeContainer(
            engineOf(m.name),
            containerName(spec.name, m.name),
            CHECK_BUDGET.containerMs,
          ),
          sql: { ok: false as const, error: 'no secrets' },
        })),
      );
  return spec.members.map((m, i) => memberStatus(m, containerName(spec.name, m.name), readings[i]!));
}

async function readCitusWorkers(
  pg: PgConnector,
  tls: TlsStore,
  spec: ClusterSpec,
  members: MemberStatus[],
  password: string | undefined,
): Promise<WorkerShards[]> {
  const coordinatorPrimary = members.find((m) => m.group === 'coordinator' && m.role === 'primary');
  if (!coordinatorPrimary || !password) return [];
  const port = spec.members.find((m) => m.name === coordinatorPrimary.name)!.port;
  return memberTls(tls, spec.name, coordinatorPrimary.name)
    .then((t) =>
      pg.withClient({ host: addressOf(spec, coordinatorPrimary.name), port, user: SUPERUSER, password, tls: t }, (c) =>
        workerShards(c, `public.${spec.demo.table}`),
      ),
    )
    .catch(() => []);
}

/** Live primary and last failover of every group; empty when etcd does not run or answer. */
async function readEtcd(
  docker: Docker,
  secrets: SecretStore,
  spec: ClusterSpec,
): Promise<Pick<StatusReport, 'livePrimaries' | 'lastFailover'>> {
  const livePrimaries: Record<string, string | null> = {};
  const lastFailover: Record<string, unknown> = {};
  // One member: asked only when its container runs. Several: etcd itself says (any quorum answers).
  if (!isMultiMember(etcdClusterOf(spec))) {
    const engine = isMultiHost(spec) ? engineFor(hostOfContainer(spec, ETCD_MEMBER)) : docker;
    if ((await observeContainer(engine, containerName(spec.name, ETCD_MEMBER), CHECK_BUDGET.containerMs)) !== 'running')
      return { livePrimaries, lastFailover };
  }
  const etcd = etcdConnector(secrets, new TlsStore(stateDir()), 2000);
  try {
    const store = createClusterStore(etcd.client(spec), spec.name);
    const groups = groupsOf(spec).map((g) => g.group);
    const read = await Promise.all(groups.map((g) => Promise.all([store.livePrimary(g), store.lastFailover(g)])));
    groups.forEach((g, i) => {
      const [live, last] = read[i]!;
      livePrimaries[g] = live;
      if (last) lastFailover[g] = last;
    });
  } catch {
    // etcd unreachable: leave empty
    return { livePrimaries: {}, lastFailover: {} };
  } finally {
    etcd.close();
  }
  return { livePrimaries, lastFailover };
}

export async function status(spec: ClusterSpec): Promise<StatusReport> {
  const docker = new Docker();
  const pg = createPgConnector();
  const root = stateDir();
  const secretStore = new SecretStore(root);
  const tls = new TlsStore(root);
  const password = (await secretStore.read(spec.name))?.superuserPassword;
  const [{ members, citusWorkers }, etcd, controlPlane, backups, hosts] = await Promise.all([
    readMembers(docker, pg, tls, spec, password).then(async (members) => ({
      members,
      citusWorkers: await readCitusWorkers(pg, tls, spec, members, password),
    })),
    readEtcd(docker, secretStore, spec),
    controlPlaneStatus(spec),
    backupStatus(docker, spec),
    hostsStatus(spec),
  ]);
  const bouncers = pgbouncerHosts(spec).map((h, i, all) => ({
    name: all.length > 1 ? `pgbouncer@${h.name}` : 'pgbouncer',
    host: isMultiHost(spec) ? h.address : '127.0.0.1',
    port: spec.pgbouncer.port,
    user: APP_USER,
    database: DATABASE,
  }));
  const endpoints = [
    ...bouncers,
    ...spec.members.flatMap((m) => [
      { name: m.name, host: addressOf(spec, m.name), port: m.port, user: SUPERUSER, database: DATABASE },
    ]),
    { name: 'etcd', host: addressOf(spec, ETCD_MEMBER), port: spec.etcd.port, user: '', database: '' },
  ];
  return {
    cluster: spec.name,
    members,
    citusWorkers,
    ...etcd,
    endpoints,
    clients: clientHosts(spec),
    pgpass: pgpassPath(root, spec.name),
    caPath: tls.caPath(spec.name),
    controlPlane,
    backups,
    ...(hosts ? { hosts } : {}),
  };
}
