/**
 * Container definitions for each role. Ports are published on 127.0.0.1 only with one host; with
 * several, on the host's address, and every container maps the cluster's names to their hosts'
 * addresses (common/addressing.ts).
 */
import type Docker from 'dockerode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ETCD_PEER_PORT,
  etcdMemberFlags,
  etcdMemberOf,
  type EtcdCluster,
  type EtcdInitialState,
} from '../../common/etcd-members';
import type { ClusterSpec, MemberSpec } from '../../common/spec';
import {
  BACKUP_MEMBER,
  BACKUP_REPO_PATH,
  backupRepoVolumeName,
  ETCD_MEMBER,
  ETCD_PORT,
  PGBOUNCER_MEMBER,
  PGBOUNCER_PORT,
  PG_PORT,
  containerName,
  groupsOf,
  networkName,
  volumeName,
} from '../../common/topology';
import { extraHosts, hostOfContainer, isMultiHost, pgbouncerHosts, publishAddress } from '../../common/addressing';
import type { ResolvedHost } from '../../common/hosts';
import { LABEL_CLUSTER, LABEL_GROUP, LABEL_MEMBER } from '../../common/labels';
import { pgbouncerFdLimit } from '../../common/pgbouncer-layout';
import { TLS_FILES } from '../tls/cluster-tls';

export const PG_VOLUME_TARGET = '/var/lib/postgresql/citusctl';
export const ETCD_DATA_DIR = '/var/lib/etcd-data';
/** etcd's data directory inside its volume: absent until the member first starts. */
export const ETCD_MEMBER_DATA = `${ETCD_DATA_DIR}/member-data`;

export function readScript(name: string): string {
  // Next to this file in the source tree; the build copies scripts/ next to the compiled file too.
  return fs.readFileSync(path.join(__dirname, 'scripts', name), 'utf8');
}

export const labelsFor = (cluster: string, group: string, member: string) => ({
  [LABEL_CLUSTER]: cluster,
  [LABEL_GROUP]: group,
  [LABEL_MEMBER]: member,
});

/** The container's port published on its host (127.0.0.1 with one host), and its /etc/hosts entries for several. */
function publish(spec: ClusterSpec, on: ResolvedHost, containerPort: string, hostPort: number) {
  const hostIp = publishAddress(spec, on);
  const hosts = extraHosts(spec);
  return {
    ExposedPorts: { [containerPort]: {} },
    PortBindings: { [containerPort]: [{ HostIp: hostIp, HostPort: String(hostPort) }] },
    ...(hosts ? { ExtraHosts: hosts } : {}),
  };
}

/**
 * The container's own hostname: its member name with one host. With several, none of the cluster's
 * names: Docker maps a container's hostname to its own network address in /etc/hosts, which would
 * send its connections to itself by name (Citus's to its own node) to 5432's container, not to the
 * published port every other entry points at.
 */
const hostnameOf = (spec: ClusterSpec, member: string) => (isMultiHost(spec) ? `${member}-node` : member);

function networking(cluster: string, alias: string) {
  return { NetworkingConfig: { EndpointsConfig: { [networkName(cluster)]: { Aliases: [alias] } } } };
}

export function isInitialPrimary(spec: ClusterSpec, member: MemberSpec): boolean {
  return groupsOf(spec).some((g) => g.primary.name === member.name);
}

/**
 * A connection attempt to a member cut off the network gives up after ~3 s instead of ~2 min (6 SYN
 * retries): when a transaction to a partitioned worker is cancelled (a failover's citus_update_node
 * terminates it), libpq sends the cancel request over a new, blocking connection to the old
 * address, and the transaction holds its shard locks until that connect returns. On one Docker
 * network a SYN is lost only when its peer is gone. Per container (network namespace).
 */
export const PG_SYSCTLS = { 'net.ipv4.tcp_syn_retries': '1' };

export function postgresContainer(
  spec: ClusterSpec,
  member: MemberSpec,
  image: string,
): Docker.ContainerCreateOptions & { name: string } {
  const { ExposedPorts, PortBindings, ExtraHosts } = publish(
    spec,
    hostOfContainer(spec, member.name),
    `${PG_PORT}/tcp`,
    member.port,
  );
  return {
    name: containerName(spec.name, member.name),
    Image: image,
    Hostname: hostnameOf(spec, member.name),
    Labels: labelsFor(spec.name, member.group, member.name),
    Entrypoint: ['/bin/sh', '/citusctl/bootstrap.sh'],
    Cmd: [],
    User: '0',
    StopSignal: 'SIGINT',
    Env: [`CITUSCTL_MEMBER=${member.name}`, `CITUSCTL_INIT=${isInitialPrimary(spec, member) ? 'primary' : 'standby'}`],
    ExposedPorts,
    HostConfig: {
      PortBindings,
      ...(ExtraHosts ? { ExtraHosts } : {}),
      NetworkMode: networkName(spec.name),
      Mounts: [
        { Type: 'volume', Source: volumeName(spec.name, member.name), Target: PG_VOLUME_TARGET },
        // Its archive_command and base backups write the cluster's backup repository directly.
        ...(spec.backup.enabled && spec.backup.repository.type === 'volume'
          ? [{ Type: 'volume' as const, Source: backupRepoVolumeName(spec.name), Target: BACKUP_REPO_PATH }]
          : []),
      ],
      ShmSize: 256 * 1024 * 1024,
      Sysctls: PG_SYSCTLS,
    },
    ...networking(spec.name, member.name),
  };
}

/**
 * PgBouncer and etcd restart by Docker's policy when their process dies inside the container and
 * when the Docker daemon restarts; a `docker kill` or `docker stop` counts as a manual stop that
 * no policy undoes (the monitor starts them again). Not on PostgreSQL members: whether a member may
 * run is decided by its member state and the failover's fencing, never by Docker.
 */
export const SERVICE_RESTART_POLICY = 'unless-stopped';

/** `host`: with several hosts, the PgBouncer host it is created on (each publishes on its own address). */
export function pgbouncerContainer(
  spec: ClusterSpec,
  image: string,
  host: ResolvedHost = pgbouncerHosts(spec)[0]!,
): Docker.ContainerCreateOptions & { name: string } {
  const { ExposedPorts, PortBindings, ExtraHosts } = publish(spec, host, `${PGBOUNCER_PORT}/tcp`, spec.pgbouncer.port);
  return {
    name: containerName(spec.name, PGBOUNCER_MEMBER),
    Image: image,
    Hostname: hostnameOf(spec, PGBOUNCER_MEMBER),
    Labels: labelsFor(spec.name, PGBOUNCER_MEMBER, PGBOUNCER_MEMBER),
    // The run script (written with the config) starts pgbouncer.processes processes on the one port.
    Entrypoint: ['/bin/sh', '/citusctl/pgbouncer-run.sh'],
    Cmd: [],
    ExposedPorts,
    HostConfig: {
      PortBindings,
      ...(ExtraHosts ? { ExtraHosts } : {}),
      NetworkMode: networkName(spec.name),
      RestartPolicy: { Name: SERVICE_RESTART_POLICY },
      Ulimits: [{ Name: 'nofile', Soft: pgbouncerFdLimit(spec), Hard: pgbouncerFdLimit(spec) }],
    },
    ...networking(spec.name, PGBOUNCER_MEMBER),
  };
}

/**
 * etcd serves only TLS, with the cluster's certificate (activities/setup/etcd-tls.ts puts the files
 * in before it starts), and admits only clients and peers whose certificate the cluster's CA signed.
 * It reads the certificate and key again for every new connection, so renewing them is rewriting the
 * files; the trusted CAs it reads once, at start.
 */
export const ETCD_TLS_FLAGS = [
  `--cert-file=${TLS_FILES.cert}`,
  `--key-file=${TLS_FILES.key}`,
  `--trusted-ca-file=${TLS_FILES.ca}`,
  '--client-cert-auth',
  `--peer-cert-file=${TLS_FILES.cert}`,
  `--peer-key-file=${TLS_FILES.key}`,
  `--peer-trusted-ca-file=${TLS_FILES.ca}`,
  '--peer-client-cert-auth',
];

export function etcdContainer(spec: ClusterSpec, image: string): Docker.ContainerCreateOptions & { name: string } {
  const { ExposedPorts, PortBindings, ExtraHosts } = publish(
    spec,
    hostOfContainer(spec, ETCD_MEMBER),
    `${ETCD_PORT}/tcp`,
    spec.etcd.port,
  );
  return {
    name: containerName(spec.name, ETCD_MEMBER),
    Image: image,
    Hostname: hostnameOf(spec, ETCD_MEMBER),
    Labels: labelsFor(spec.name, ETCD_MEMBER, ETCD_MEMBER),
    // No shell: the upstream etcd image has none.
    Entrypoint: ['etcd'],
    Cmd: [
      '--name=etcd',
      `--data-dir=${ETCD_MEMBER_DATA}`,
      ...ETCD_TLS_FLAGS,
      `--listen-client-urls=https://0.0.0.0:${ETCD_PORT}`,
      `--advertise-client-urls=https://${ETCD_MEMBER}:${ETCD_PORT}`,
      '--listen-peer-urls=https://127.0.0.1:2380',
      '--initial-advertise-peer-urls=https://127.0.0.1:2380',
      '--initial-cluster=etcd=https://127.0.0.1:2380',
      '--log-level=warn',
    ],
    ExposedPorts,
    HostConfig: {
      PortBindings,
      ...(ExtraHosts ? { ExtraHosts } : {}),
      NetworkMode: networkName(spec.name),
      Mounts: [{ Type: 'volume', Source: volumeName(spec.name, ETCD_MEMBER), Target: ETCD_DATA_DIR }],
      RestartPolicy: { Name: SERVICE_RESTART_POLICY },
    },
    ...networking(spec.name, ETCD_MEMBER),
  };
}

/**
 * Member `name` of a multi-member etcd (common/etcd-members.ts): client and peer ports published on
 * `publishOn` (an address of its host the other hosts reach; the ports are those the member
 * advertises), TLS for clients and peers as the single member's, plus the peer rules of
 * etcdMemberFlags. `state` is `new` when the whole cluster bootstraps, `existing` for a member
 * added back to a running cluster (lib/etcd-cluster-repair.ts); a member that restarts with its
 * data directory ignores it. Its own volume and restart policy, as the single member.
 */
export function etcdMemberContainer(
  cluster: string,
  etcd: EtcdCluster,
  name: string,
  state: EtcdInitialState,
  image: string,
  publishOn: string,
): Docker.ContainerCreateOptions & { name: string } {
  const member = etcdMemberOf(etcd, name);
  const client = `${ETCD_PORT}/tcp`;
  const peer = `${ETCD_PEER_PORT}/tcp`;
  return {
    name: containerName(cluster, name),
    Image: image,
    Hostname: name,
    Labels: labelsFor(cluster, ETCD_MEMBER, name),
    Entrypoint: ['etcd'],
    Cmd: [...etcdMemberFlags(etcd, name, state, ETCD_MEMBER_DATA), ...ETCD_TLS_FLAGS, '--log-level=warn'],
    ExposedPorts: { [client]: {}, [peer]: {} },
    HostConfig: {
      PortBindings: {
        [client]: [{ HostIp: publishOn, HostPort: String(member.clientPort) }],
        [peer]: [{ HostIp: publishOn, HostPort: String(member.peerPort) }],
      },
      NetworkMode: networkName(cluster),
      Mounts: [{ Type: 'volume', Source: volumeName(cluster, name), Target: ETCD_DATA_DIR }],
      RestartPolicy: { Name: SERVICE_RESTART_POLICY },
    },
    ...networking(cluster, name),
  };
}

/**
 * The cluster's backup container: the pgBackRest repository's host (the repository volume mounted,
 * every group's stanza configured), where citusctl reads `pgbackrest info`, expires old backups and
 * keeps its catalog. The cluster's postgres image (it has pgBackRest); it runs nothing but a wait.
 * Base backups run in each group's primary (they read its data directory), restores in a one-shot
 * container mounting the new member's volume. With an S3 repository it mounts no volume (its
 * configuration names the endpoint) and serves the same commands.
 */
export function backupContainer(spec: ClusterSpec, image: string): Docker.ContainerCreateOptions & { name: string } {
  return {
    name: containerName(spec.name, BACKUP_MEMBER),
    Image: image,
    Hostname: BACKUP_MEMBER,
    Labels: labelsFor(spec.name, BACKUP_MEMBER, BACKUP_MEMBER),
    User: '0',
    // pgBackRest runs as postgres, whose uid owns the repository (the same image as the members).
    Entrypoint: [
      '/bin/sh',
      '-c',
      `chown postgres:postgres ${BACKUP_REPO_PATH} && chown -R postgres:postgres /citusctl && ` +
        "trap 'exit 0' INT TERM && while :; do sleep 3600 & wait $!; done",
    ],
    Cmd: [],
    HostConfig: {
      NetworkMode: networkName(spec.name),
      Mounts:
        spec.backup.repository.type === 'volume'
          ? [{ Type: 'volume', Source: backupRepoVolumeName(spec.name), Target: BACKUP_REPO_PATH }]
          : [],
      RestartPolicy: { Name: SERVICE_RESTART_POLICY },
    },
    ...networking(spec.name, BACKUP_MEMBER),
  };
}
