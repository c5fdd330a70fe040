/** The newest backup, restore point and verification of a cluster's catalog: what health and status show. */
import type { CatalogSummary } from '../../common/backup-health';
import type { BackupCatalog } from './catalog';

const newest = <T>(items: T[], at: (x: T) => string): T | undefined =>
  [...items].sort((a, b) => at(b).localeCompare(at(a)))[0];

export async function catalogSummary(catalog: BackupCatalog): Promise<CatalogSummary> {
  const [backups, points, verifications] = await Promise.all([
    catalog.list('backups'),
    catalog.list('restore-points'),
    catalog.list('verifications'),
  ]);
  const b = newest(backups, (x) => x.finishedAt);
  const p = newest(points, (x) => x.createdAt);
  const v = newest(verifications, (x) => x.finishedAt);
  const ok = newest(
    verifications.filter((x) => x.ok),
    (x) => x.finishedAt,
  );
  const sum = (f: (g: { sizeBytes: number; repoSizeBytes: number }) => number) =>
    b ? Object.values(b.groups).reduce((n, g) => n + f(g), 0) : 0;
  return {
    newestBackup: b
      ? {
          id: b.id,
          finishedAt: b.finishedAt,
          restorePoint: b.restorePoint,
          sizeBytes: sum((g) => g.sizeBytes),
          repoSizeBytes: sum((g) => g.repoSizeBytes),
        }
      : null,
    newestRestorePoint: p ? { name: p.name, createdAt: p.createdAt, origin: p.origin } : null,
    newestVerification: v
      ? {
          id: v.id,
          ok: v.ok,
          finishedAt: v.finishedAt,
          backupId: v.backupId,
          restorePoint: v.restorePoint,
          problems: v.problems,
        }
      : null,
    newestOkVerification: ok ? { id: ok.id, finishedAt: ok.finishedAt } : null,
  };
}
