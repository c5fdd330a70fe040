/**
 * The backup part of `citusctl status`: the backup container, the repository volume and its size,
 * and the newest backup, restore point and verification of the catalog. Read from Docker only (the
 * catalog lives in the repository): it answers with the cluster down, as long as the volume is there.
 */
import type Docker from 'dockerode';
import type { CatalogSummary } from '../common/backup-health';
import { resolveImage } from '../common/images';
import { BACKUP_MEMBER, BACKUP_REPO_PATH } from '../common/names';
import type { ClusterSpec } from '../common/spec';
import { backupRepoVolumeName, containerName } from '../common/topology';
import { BackupCatalog } from '../lib/backup/catalog';
import { describeRepository, RepositoryStore } from '../lib/backup/repository';
import { stateDir } from '../lib/state-dir';
import { catalogSummary } from '../lib/backup/catalog-summary';
import { observeContainer } from '../lib/docker/container-status';
import { backupRepoPresent } from '../lib/docker/cluster-objects';
import { execIn } from '../lib/docker/docker-helpers';
import { CHECK_BUDGET } from '../lib/observation/member';

export interface BackupStatus {
  enabled: boolean;
  container: { name: string; state: string };
  repository: { volume: string; present: boolean; sizeBytes: number | null };
  catalog: CatalogSummary | { error: string } | null;
}

async function repoSize(docker: Docker, container: string): Promise<number | null> {
  try {
    const r = await execIn(docker, container, ['sh', '-c', `du -sb ${BACKUP_REPO_PATH} | cut -f1`], '0');
    const n = Number(r.stdout.trim());
    return r.exitCode === 0 && Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

export async function backupStatus(docker: Docker, spec: ClusterSpec): Promise<BackupStatus> {
  const name = containerName(spec.name, BACKUP_MEMBER);
  const access = await new RepositoryStore(stateDir()).of(spec.name);
  const volume = describeRepository(backupRepoVolumeName(spec.name), access);
  const [state, present] = await Promise.all([
    observeContainer(docker, name, CHECK_BUDGET.containerMs),
    access.type === 's3' ? true : backupRepoPresent(docker, spec.name).catch(() => false),
  ]);
  // An S3 repository's size is not measured here (a listing of every object).
  const sizeBytes = state === 'running' && access.type === 'volume' ? await repoSize(docker, name) : null;
  let catalog: BackupStatus['catalog'] = null;
  if (present) {
    catalog = await catalogSummary(
      new BackupCatalog(docker, spec.name, resolveImage(spec, 'postgres', process.env)),
    ).catch((err: unknown) => ({ error: (err as Error).message }));
  }
  return {
    enabled: spec.backup.enabled,
    container: { name, state },
    repository: { volume, present, sizeBytes },
    catalog,
  };
}

const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;

/** One line each: the container and repository, the newest backup, restore point and verification. */
export function backupStatusLines(b: BackupStatus): string[] {
  if (!b.enabled && !b.repository.present) return ['backups: disabled (spec backup.enabled)'];
  const lines = [
    `backups: container ${b.container.name} ${b.container.state}; repository ${b.repository.volume} ` +
      (b.repository.present ? (b.repository.sizeBytes === null ? 'present' : mib(b.repository.sizeBytes)) : 'absent'),
  ];
  const c = b.catalog;
  if (!c) return lines;
  if ('error' in c) return [...lines, `  catalog: not readable (${c.error})`];
  const nb = c.newestBackup;
  lines.push(
    nb
      ? `  newest backup: ${nb.id} at ${nb.finishedAt}, ${mib(nb.sizeBytes)} ` +
          `(${mib(nb.repoSizeBytes)} in the repository), point ${nb.restorePoint}`
      : '  newest backup: none yet',
  );
  const p = c.newestRestorePoint;
  lines.push(
    p ? `  newest restore point: ${p.name} at ${p.createdAt} (${p.origin})` : '  newest restore point: none yet',
  );
  const v = c.newestVerification;
  lines.push(
    v
      ? `  newest verification: ${v.id} ${v.ok ? 'ok' : 'FAILED'} at ${v.finishedAt} (backup ${v.backupId})` +
          (v.ok ? '' : `: ${v.problems.join('; ')}`) +
          (!v.ok && c.newestOkVerification ? `; last ok ${c.newestOkVerification.id}` : '')
      : '  newest verification: none yet',
  );
  return lines;
}
