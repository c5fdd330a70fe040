/**
 * pgBackRest's configuration in every container that runs it: one stanza per group (the group's
 * name), the repository on the cluster's backup volume or an S3-compatible endpoint. A member's
 * file holds its own group's stanza (its archive_command pushes there); the backup container's holds
 * every group's. With S3 the file holds the access keys: mode 0600 (the containers hand /citusctl to
 * postgres before pgBackRest runs).
 */
import { BACKUP_REPO_PATH, COORDINATOR_GROUP } from '../../common/names';
import type { ClusterSpec } from '../../common/spec';
import { PG_VOLUME_TARGET } from '../docker/node-containers';
import type { RepositoryAccess } from './repository';

/** Where the file lives in a container (citusctl's own directory: no clash with an image's /etc). */
export const PGBACKREST_CONF = '/citusctl/pgbackrest.conf';
/**
 * PostgreSQL's archive_command runs this with the WAL file's path (written per member: it names the
 * stanza). pgBackRest's check and backup insist that archive_command mention pgbackrest: the name does.
 */
export const ARCHIVE_WAL_SCRIPT = '/citusctl/pgbackrest-archive.sh';
export const MEMBER_PGDATA = `${PG_VOLUME_TARGET}/pgdata`;
/** The S3 endpoint's CA bundle in a container (written only when the spec names one). */
export const S3_CA_FILE = '/citusctl/s3-ca.pem';

export interface PgbackrestConfOptions {
  /** Stanzas (group names) this container serves; pg1-path points at the member's own data directory. */
  stanzas: readonly string[];
  retentionFull: number;
  /** The repository path (default: the backup volume's mount). A restore reads another cluster's repository. */
  repoPath?: string;
  /** Where the repository is (default: a volume at repoPath). */
  repo?: RepositoryAccess;
  /** Data directory for the stanzas (default: a member's). */
  pgPath?: string;
}

export function pgbackrestConf(opts: PgbackrestConfOptions): string {
  const lines = [
    '# citusctl: pgBackRest for this cluster (README "Backups")',
    '[global]',
    ...repoLines(opts),
    `repo1-retention-full=${opts.retentionFull}`,
    'repo1-retention-full-type=count',
    // A base backup starts at once (an immediate checkpoint) instead of waiting for the next one.
    'start-fast=y',
    'process-max=2',
    'compress-type=lz4',
    'log-level-console=warn',
    'log-level-stderr=off',
    'log-level-file=off',
    // On the repository volume, shared by every member and the backup container: a backup started on a
    // new primary after a failover waits for (not races) one still running on the old, and `expire` in
    // the backup container for both; `info` there sees a running backup's progress. An S3 repository
    // shares no directory: each container locks its own.
    ...(opts.repo?.type === 's3' ? [] : [`lock-path=${opts.repoPath ?? BACKUP_REPO_PATH}/lock`]),
    '',
  ];
  for (const stanza of opts.stanzas) {
    lines.push(
      `[${stanza}]`,
      `pg1-path=${opts.pgPath ?? MEMBER_PGDATA}`,
      'pg1-socket-path=/var/run/postgresql',
      'pg1-port=5432',
      'pg1-user=postgres',
      '',
    );
  }
  return lines.join('\n');
}

function repoLines(opts: PgbackrestConfOptions): string[] {
  const repo = opts.repo;
  if (repo?.type !== 's3') return [`repo1-path=${opts.repoPath ?? BACKUP_REPO_PATH}`];
  const [host, port] = repo.endpoint.split(':');
  return [
    'repo1-type=s3',
    `repo1-path=${repo.path}`,
    `repo1-s3-endpoint=${host}`,
    ...(port ? [`repo1-storage-port=${port}`] : []),
    `repo1-s3-bucket=${repo.bucket}`,
    `repo1-s3-region=${repo.region}`,
    `repo1-s3-uri-style=${repo.uriStyle}`,
    `repo1-s3-key=${repo.accessKeyId}`,
    `repo1-s3-key-secret=${repo.secretAccessKey}`,
    // TLS is always verified (pgBackRest's default): against the given bundle, else the system's CAs.
    ...(repo.caPem ? [`repo1-storage-ca-file=${S3_CA_FILE}`] : []),
  ];
}

/** pgBackRest's configuration file (and the S3 CA bundle) as container files. */
export function pgbackrestFiles(opts: PgbackrestConfOptions): Record<string, { content: string; mode: number }> {
  return {
    [PGBACKREST_CONF]: { content: pgbackrestConf(opts), mode: opts.repo?.type === 's3' ? 0o600 : 0o644 },
    ...(opts.repo?.type === 's3' && opts.repo.caPem ? { [S3_CA_FILE]: { content: opts.repo.caPem, mode: 0o644 } } : {}),
  };
}

/**
 * archive_command's script. Without a pgBackRest configuration (backups disabled) a WAL file is
 * done with at once, as if archiving were off; with one, pushing it must succeed, or PostgreSQL
 * keeps the file and tries again (never a silent gap).
 */
export function archiveWalScript(stanza: string): string {
  return [
    '#!/bin/sh',
    '# citusctl: archive_command (PostgreSQL passes the WAL file path relative to PGDATA)',
    `[ -e ${PGBACKREST_CONF} ] || exit 0`,
    `exec pgbackrest --config=${PGBACKREST_CONF} --stanza=${stanza} archive-push "$1"`,
    '',
  ].join('\n');
}

/** The stanzas of a cluster: one per group, named after it. */
export const stanzasOf = (spec: ClusterSpec): string[] => [COORDINATOR_GROUP, ...spec.workers];

/** The pgBackRest files of one member: its archive_command script always, the configuration when backups are on. */
export function memberBackupFiles(
  spec: ClusterSpec,
  group: string,
  repo: RepositoryAccess,
): Record<string, { content: string; mode: number }> {
  return {
    [ARCHIVE_WAL_SCRIPT]: { content: archiveWalScript(group), mode: 0o755 },
    ...(spec.backup.enabled
      ? pgbackrestFiles({ stanzas: [group], retentionFull: spec.backup.retentionFull, repo })
      : {}),
  };
}

/** The backup container's configuration: every group's stanza (info, expire, verify; never a backup from here). */
export function backupContainerFiles(
  spec: ClusterSpec,
  repo: RepositoryAccess,
): Record<string, { content: string; mode: number }> {
  return pgbackrestFiles({ stanzas: stanzasOf(spec), retentionFull: spec.backup.retentionFull, repo });
}
