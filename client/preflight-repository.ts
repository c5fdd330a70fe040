/**
 * Before anything is created: an S3 backup repository must be usable with the keys the spec's
 * credentials file holds (pgBackRest lists the repository's prefix from a throwaway container: an
 * unreachable endpoint, a certificate that does not verify, a missing bucket or refused keys fail
 * here, with pgBackRest's own words). The keys are then kept in the state directory, where every
 * later step reads them. A volume repository needs nothing, unless this state directory still holds
 * S3 keys of an earlier cluster of the name: its backups are there, and a volume would hide them.
 */
import type Docker from 'dockerode';
import type { BackupRepositorySpec, ClusterSpec } from '../common/spec';
import { resolveImage } from '../common/images';
import { PGBACKREST_CONF } from '../lib/backup/pgbackrest-config';
import {
  describeRepository,
  readS3Access,
  RepositoryCredentialsError,
  RepositoryStore,
} from '../lib/backup/repository';
import { pgbackrestErrorSummary } from '../lib/backup/pgbackrest-output';
import { execWithS3Repository } from '../lib/backup/s3-exec';
import { storedClusterSpecs } from '../lib/cluster-spec-file';
import { PreflightError } from './preflight-error';

/** The same repository: the same place (new keys, or another copy of the CA file, are fine). */
function sameRepository(a: BackupRepositorySpec, b: BackupRepositorySpec): boolean {
  if (a.type === 'volume' || b.type === 'volume') return a.type === b.type;
  return (
    a.endpoint === b.endpoint &&
    a.bucket === b.bucket &&
    a.region === b.region &&
    a.path === b.path &&
    a.uriStyle === b.uriStyle
  );
}

export async function preflightRepository(
  docker: Docker,
  spec: ClusterSpec,
  root: string,
  log: (line: string) => void,
): Promise<void> {
  const store = new RepositoryStore(root);
  const repo = spec.backup.repository;
  if (!spec.backup.enabled) return;
  // Running members keep the repository they were configured with, and its stanzas are there.
  const stored = storedClusterSpecs(root).find((s) => s.name === spec.name)?.backup.repository;
  if (stored && !sameRepository(stored, repo))
    throw new PreflightError(
      `backup.repository: cluster ${spec.name} runs with another repository (${stored.type}); moving a ` +
        'running cluster to another repository is not supported: `citusctl backup`, then `citusctl restore ' +
        '--as NEW --config FILE` with the new repository, or `down --volumes` first. Nothing was changed.',
    );
  if (repo.type === 'volume') {
    const stored = await store.read(spec.name);
    if (stored)
      throw new PreflightError(
        `backup.repository: cluster ${spec.name}'s backups are in ${describeRepository('', stored)}, and the spec ` +
          'names a volume: give that S3 repository in the spec, or forget it with ' +
          `\`citusctl down --cluster ${spec.name} --volumes --backups\`. Nothing was created.`,
      );
    return;
  }
  let access;
  try {
    access = await readS3Access(spec.name, repo);
  } catch (err) {
    if (err instanceof RepositoryCredentialsError) throw new PreflightError(`${err.message}. Nothing was created.`);
    throw err;
  }
  const where = describeRepository('', access);
  const r = await execWithS3Repository(
    docker,
    { cluster: spec.name, image: resolveImage(spec, 'postgres', process.env), access, fresh: true },
    ['pgbackrest', `--config=${PGBACKREST_CONF}`, '--log-level-console=error', 'repo-ls'],
  );
  if (r.exitCode !== 0) {
    const why = pgbackrestErrorSummary(r.stderr + r.stdout);
    throw new PreflightError(
      `backup.repository: the S3 repository ${where} cannot be used (pgbackrest repo-ls exit ${r.exitCode}): ${why}. ` +
        'Check endpoint, bucket, region, caFile and the keys in credentialsFile. Nothing was created.',
    );
  }
  await store.write(spec.name, access);
  log(`backups: S3 repository ${where} reachable; its keys kept in the state directory`);
}
