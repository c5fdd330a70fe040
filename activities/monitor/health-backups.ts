/**
 * The health check's view of backups: every group primary's archiving (pg_stat_archiver, and the
 * last archive error of its log when it fails), the repository's filesystem (df in the backup
 * container) and age, and the newest backup, restore point and verification of the catalog. Each
 * part is bounded by a deadline and reported, never thrown: a health check does not fail because
 * backups do.
 */
import type { ArchiverObservation, BackupObservation, RepoUsage } from '../../common/backup-health';
import { archiveFailing } from '../../common/backup-health';
import { resolveImage } from '../../common/images';
import { BACKUP_MEMBER, BACKUP_REPO_PATH } from '../../common/names';
import type { ClusterSpec } from '../../common/spec';
import { backupRepoVolumeName, containerName } from '../../common/topology';
import { archiveErrorFromLog, readArchiverState } from '../../lib/backup/archive-state';
import { BackupCatalog } from '../../lib/backup/catalog';
import { catalogSummary } from '../../lib/backup/catalog-summary';
import { RepositoryStore } from '../../lib/backup/repository';
import { errMessage, withDeadline } from '../../lib/deadline';
import { execIn } from '../../lib/docker/docker-helpers';
import type { ActivityDeps } from '../deps';
import { parseDiskOutput } from './health-nodes';

const ARCHIVER_MS = 10_000;
const REPO_MS = 20_000;
const CATALOG_MS = 30_000;

async function observeArchiver(deps: ActivityDeps, spec: ClusterSpec, group: string, member: string) {
  const container = containerName(spec.name, member);
  try {
    const s = await withDeadline(
      readArchiverState(deps.docker, container),
      ARCHIVER_MS,
      `pg_stat_archiver on ${member}`,
    );
    const lastError = archiveFailing(s)
      ? await archiveErrorFromLog(deps.docker, container).catch(() => undefined)
      : undefined;
    return { group, member, ok: true as const, ...s, ...(lastError ? { lastError } : {}) };
  } catch (err) {
    return { group, member, ok: false as const, error: errMessage(err) };
  }
}

async function repoUsage(deps: ActivityDeps, spec: ClusterSpec): Promise<RepoUsage> {
  const r = spec.backup.repository;
  if (r.type === 's3') return { ok: null, note: `in S3 (${r.endpoint}, bucket ${r.bucket}): fullness not measured` };
  const cmd = `du -sb ${BACKUP_REPO_PATH} 2>/dev/null | cut -f1; df -P -B1 ${BACKUP_REPO_PATH} | tail -n 1`;
  try {
    const r = await withDeadline(
      execIn(deps.docker, containerName(spec.name, BACKUP_MEMBER), ['sh', '-c', cmd], '0'),
      REPO_MS,
      'du/df of the backup repository',
    );
    if (r.exitCode !== 0) return { ok: false, error: `du/df exited ${r.exitCode}: ${r.stderr.trim().slice(0, 200)}` };
    const d = parseDiskOutput(r.stdout, BACKUP_REPO_PATH);
    return d.ok
      ? { ok: true, usedBytes: d.usedBytes, fsSizeBytes: d.fsSizeBytes, fsAvailBytes: d.fsAvailBytes }
      : { ok: false, error: d.error };
  } catch (err) {
    return { ok: false, error: `the backup container ${containerName(spec.name, BACKUP_MEMBER)}: ${errMessage(err)}` };
  }
}

async function repoCreatedAt(deps: ActivityDeps, spec: ClusterSpec): Promise<string | null> {
  if (spec.backup.repository.type === 's3') return new RepositoryStore(deps.secrets.root).configuredAt(spec.name);
  try {
    const v = (await deps.docker.getVolume(backupRepoVolumeName(spec.name)).inspect()) as { CreatedAt?: string };
    return v.CreatedAt ? new Date(v.CreatedAt).toISOString() : null;
  } catch {
    return null;
  }
}

/** `primaries`: each group's live primary (the health check's reading of etcd). */
export async function observeBackups(
  deps: ActivityDeps,
  spec: ClusterSpec,
  primaries: Record<string, string>,
): Promise<BackupObservation> {
  if (!spec.backup.enabled) return { enabled: false };
  const catalog = new BackupCatalog(
    deps.docker,
    spec.name,
    resolveImage(spec, 'postgres', deps.env),
    deps.secrets.root,
  );
  const [archive, repo, created, summary] = await Promise.all([
    Promise.all(
      Object.entries(primaries).map(([group, member]): Promise<ArchiverObservation> =>
        observeArchiver(deps, spec, group, member),
      ),
    ),
    repoUsage(deps, spec),
    repoCreatedAt(deps, spec),
    withDeadline(catalogSummary(catalog), CATALOG_MS, 'the backup catalog').then(
      (s) => ({ ok: true as const, ...s }),
      (err: unknown) => ({ ok: false as const, error: errMessage(err) }),
    ),
  ]);
  return { enabled: true, archive, repo, repoCreatedAt: created, catalog: summary };
}
