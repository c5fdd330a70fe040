/** PostgreSQL configuration every node gets at initdb (standbys inherit it through the base backup). */
import { REPLICATION_USER, SUPERUSER } from '../../common/topology';
import type { ClusterSecrets } from '../secrets';
import { nodePgpass } from '../secrets';
import { POSTGRESQL_CONF } from '../postgres';
import type { ContainerFiles } from './docker-helpers';
import { readScript } from './node-containers';

/**
 * Only the cluster's Docker network and the node itself are admitted; replication only for the
 * replication user. No trust. TCP only over TLS (hostssl): a client without TLS finds no entry.
 * Loopback: Citus's background rebalancer connects to its own node as citus.local_hostname
 * (localhost). The local socket (peer for the superuser) serves the bootstrap and docker exec.
 */
export function pgHba(networkCidr: string, hostCidrs: readonly string[] = []): string {
  return [
    '# citusctl: no trust, only the cluster network' + (hostCidrs.length ? ' and its hosts' : ''),
    `local   all          ${SUPERUSER}     peer`,
    'local   all          all          scram-sha-256',
    ...[networkCidr, ...hostCidrs].flatMap((cidr) => [
      `hostssl replication  ${REPLICATION_USER}   ${cidr}   scram-sha-256`,
      `hostssl all          all          ${cidr}   scram-sha-256`,
    ]),
    'hostssl all          all          127.0.0.1/32   scram-sha-256',
    'hostssl all          all          ::1/128        scram-sha-256',
    '',
  ].join('\n');
}

/**
 * The port each member's PostgreSQL is reached on from other members, one `name port` line each
 * (common/addressing.ts peerPort): the scripts that connect to a primary (seeding, rejoining) read
 * theirs here. Empty with one host (every member on 5432).
 */
export const PEER_PORTS_FILE = '/citusctl/peer-ports';

/** `tls`: the member's TLS files (lib/tls/cluster-tls.ts tlsFilesFor), which the settings name. */
export function postgresFiles(
  secrets: ClusterSecrets,
  networkCidr: string,
  tls: ContainerFiles,
  peers: { hostCidrs: readonly string[]; ports: Readonly<Record<string, number>> } = { hostCidrs: [], ports: {} },
): ContainerFiles {
  const portLines = Object.entries(peers.ports).map(([name, port]) => `${name} ${port}\n`);
  return {
    [PEER_PORTS_FILE]: { content: portLines.join(''), mode: 0o644 },
    ...tls,
    '/citusctl/bootstrap.sh': { content: readScript('postgres-bootstrap.sh'), mode: 0o755 },
    '/citusctl/seed-standby.sh': { content: readScript('seed-standby.sh'), mode: 0o755 },
    '/citusctl/postgresql.citusctl.conf': { content: POSTGRESQL_CONF, mode: 0o644 },
    '/citusctl/pg_hba.conf': { content: pgHba(networkCidr, peers.hostCidrs), mode: 0o644 },
    '/citusctl/secrets/superuser.pw': { content: secrets.superuserPassword + '\n', mode: 0o600 },
    '/citusctl/pgpass': { content: nodePgpass(secrets), mode: 0o600 },
  };
}
