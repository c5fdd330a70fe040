/**
 * `citusctl backups`: the cluster's backups, restore points and verified restores as the catalog in
 * its repository records them (lib/backup/catalog.ts), oldest first. Read straight from the
 * repository volume, so it works when the cluster is down (`down --volumes` keeps the repository).
 */
import Docker from 'dockerode';
import type { BackupRecord, RestorePointRecord, VerificationRecord } from '../common/backup-records';
import { resolveImage } from '../common/images';
import { parseSpec, type ClusterSpec } from '../common/spec';
import { backupRepoVolumeName } from '../common/topology';
import { BackupCatalog } from '../lib/backup/catalog';
import { describeRepository, RepositoryStore } from '../lib/backup/repository';
import { storedClusterSpecs } from '../lib/cluster-spec-file';
import { stateDir } from '../lib/state-dir';

export interface BackupRow {
  id: string;
  startedAt: string;
  finishedAt: string;
  restorePoint: string;
  groups: Record<string, { member: string; label: string; sizeBytes: number; repoSizeBytes: number }>;
}

export interface RestorePointRow {
  name: string;
  createdAt: string;
  origin: string;
  /** Tables counted at the point (null: not counted). */
  tables: number | null;
  pauseMs: number;
}

export interface VerificationRow {
  id: string;
  backupId: string;
  restorePoint: string;
  finishedAt: string;
  ok: boolean;
  problems: string[];
}

export interface BackupsReport {
  cluster: string;
  repository: string;
  exists: boolean;
  backups: BackupRow[];
  restorePoints: RestorePointRow[];
  verifications: VerificationRow[];
}

const storedSpecOf = (cluster: string) => storedClusterSpecs(stateDir()).find((s) => s.name === cluster);

/**
 * The spec to read a cluster's repository with: the stored one, else (a cluster removed by `down`)
 * the defaults under its name, whose postgres image (CITUSCTL_IMAGE_POSTGRES first) opens the volume.
 */
export const specForListing = (cluster: string): ClusterSpec => storedSpecOf(cluster) ?? parseSpec({ name: cluster });

const byTime =
  <T>(key: (x: T) => string) =>
  (a: T, b: T) =>
    key(a).localeCompare(key(b));

export function backupRows(backups: readonly BackupRecord[]): BackupRow[] {
  return [...backups].sort(byTime((b) => b.startedAt)).map((b) => ({
    id: b.id,
    startedAt: b.startedAt,
    finishedAt: b.finishedAt,
    restorePoint: b.restorePoint,
    groups: Object.fromEntries(
      Object.entries(b.groups).map(([g, x]) => [
        g,
        { member: x.member, label: x.label, sizeBytes: x.sizeBytes, repoSizeBytes: x.repoSizeBytes },
      ]),
    ),
  }));
}

export function restorePointRows(points: readonly RestorePointRecord[]): RestorePointRow[] {
  return [...points].sort(byTime((p) => p.createdAt)).map((p) => ({
    name: p.name,
    createdAt: p.createdAt,
    origin: p.origin,
    tables: p.rowCounts ? Object.keys(p.rowCounts).length : null,
    pauseMs: p.pauseMs,
  }));
}

export function verificationRows(vs: readonly VerificationRecord[]): VerificationRow[] {
  return [...vs].sort(byTime((v) => v.finishedAt)).map((v) => ({
    id: v.id,
    backupId: v.backupId,
    restorePoint: v.restorePoint,
    finishedAt: v.finishedAt,
    ok: v.ok,
    problems: v.problems,
  }));
}

export async function backups(spec: ClusterSpec, docker = new Docker()): Promise<BackupsReport> {
  const catalog = new BackupCatalog(docker, spec.name, resolveImage(spec, 'postgres', process.env));
  const exists = await catalog.exists();
  return {
    cluster: spec.name,
    repository: describeRepository(
      backupRepoVolumeName(spec.name),
      await new RepositoryStore(stateDir()).of(spec.name),
    ),
    exists,
    backups: backupRows(await catalog.list('backups')),
    restorePoints: restorePointRows(await catalog.list('restore-points')),
    verifications: verificationRows(await catalog.list('verifications')),
  };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

export function backupsLines(r: BackupsReport): string[] {
  if (!r.exists) return [`cluster ${r.cluster} has no backup repository (volume ${r.repository})`];
  const lines: string[] = [`backups of ${r.cluster} (repository: volume ${r.repository})`, ''];
  if (!r.backups.length) lines.push('no backups yet (citusctl backup)');
  else
    lines.push(
      ...table(
        ['BACKUP', 'FINISHED', 'GROUP', 'MEMBER', 'LABEL', 'SIZE', 'STORED'],
        r.backups.flatMap((b) =>
          Object.entries(b.groups).map(([g, x], i) => [
            i === 0 ? b.id : '',
            i === 0 ? b.finishedAt : '',
            g,
            x.member,
            x.label,
            mb(x.sizeBytes),
            mb(x.repoSizeBytes),
          ]),
        ),
      ),
    );
  lines.push('');
  if (!r.restorePoints.length) lines.push('no restore points yet (citusctl backup, citusctl restore-point)');
  else
    lines.push(
      ...table(
        ['RESTORE POINT', 'CREATED', 'ORIGIN', 'ROW COUNTS', 'WRITES HELD'],
        r.restorePoints.map((p) => [
          p.name,
          p.createdAt,
          p.origin,
          p.tables === null ? 'no' : `${p.tables} tables`,
          `${p.pauseMs} ms`,
        ]),
      ),
    );
  lines.push('');
  if (!r.verifications.length) lines.push('no verified restores yet');
  else
    lines.push(
      ...table(
        ['VERIFICATION', 'FINISHED', 'BACKUP', 'RESULT'],
        r.verifications.map((v) => [v.id, v.finishedAt, v.backupId, v.ok ? 'ok' : `failed: ${v.problems.join('; ')}`]),
      ),
    );
  return lines;
}
