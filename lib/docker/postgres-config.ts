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
export function pgHba(networkCidr: string): string {
  return [
    '# citusctl: no trust, only the cluster network',
    `local   all          ${SUPERUSER}     peer`,
    'local   all          all          scram-sha-256',
    `hostssl replication  ${REPLICATION_USER}   ${networkCidr}   scram-sha-256`,
    `hostssl all          all          ${networkCidr}   scram-sha-256`,
    'hostssl all          all          127.0.0.1/32   scram-sha-256',
    'hostssl all          all          ::1/128        scram-sha-256',
    '',
  ].join('\n');
}

/** `tls`: the member's TLS files (lib/tls/cluster-tls.ts tlsFilesFor), which the settings name. */
export function postgresFiles(secrets: ClusterSecrets, networkCidr: string, tls: ContainerFiles): ContainerFiles {
  return {
    ...tls,
    '/citusctl/bootstrap.sh': { content: readScript('postgres-bootstrap.sh'), mode: 0o755 },
    '/citusctl/seed-standby.sh': { content: readScript('seed-standby.sh'), mode: 0o755 },
    '/citusctl/postgresql.citusctl.conf': { content: POSTGRESQL_CONF, mode: 0o644 },
    '/citusctl/pg_hba.conf': { content: pgHba(networkCidr), mode: 0o644 },
    '/citusctl/secrets/superuser.pw': { content: secrets.superuserPassword + '\n', mode: 0o600 },
    '/citusctl/pgpass': { content: nodePgpass(secrets), mode: 0o600 },
  };
}
