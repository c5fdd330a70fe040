/**
 * `citusctl health`: runs one healthCheck now (its own workflow id, so it never waits for a
 * scheduled run) with the in-process worker, and prints the report. The caller exits 0 when the
 * report says healthy, 1 when degraded.
 */
import type { BackupReport } from '../common/backup-health';
import type { HealthReport, MemberReport } from '../common/health-report';
import { problemText } from '../common/health-report';
import { workflowInput } from '../common/inputs';
import type { ClusterSpec } from '../common/spec';
import { healthRunId } from '../common/workflow-ids';
import type { HealthCheckInput, HealthCheckResult } from '../workflows/health-check';
import { runWorkflow, type RunReport } from './run-workflow';

export async function health(
  spec: ClusterSpec,
  opts: { json?: boolean; worker?: boolean; log: (line: string) => void },
): Promise<RunReport<HealthCheckResult>> {
  // The stored spec (as the schedule's runs): the spec file only names the cluster.
  const input: HealthCheckInput = workflowInput('healthCheck', { cluster: spec.name });
  return runWorkflow<HealthCheckResult>({
    workflowType: 'healthCheck',
    workflowId: healthRunId(spec.name, new Date()),
    args: [input],
    json: opts.json,
    worker: opts.worker,
    log: opts.log,
  });
}

const bytes = (b: number | null | undefined): string => {
  if (b === null || b === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = b;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
};

function memberLine(m: MemberReport): string {
  const parts = [
    m.name.padEnd(12),
    m.group.padEnd(12),
    m.role.padEnd(11),
    m.container.padEnd(9),
    m.state ? `etcd:${m.state}`.padEnd(15) : ''.padEnd(15),
  ];
  if (m.timeline !== null) parts.push(`tl ${m.timeline}`);
  if (!m.livePrimary && m.role !== 'unreachable') {
    parts.push(m.streaming ? `streaming${m.syncState ? `/${m.syncState}` : ''}` : 'NOT streaming');
    parts.push(`lag ${bytes(m.lagBytes)}${m.lagSeconds !== null ? ` ${m.lagSeconds.toFixed(1)}s` : ''}`);
  }
  if (m.slot) parts.push(`slot ${m.slotRetainedBytes === null ? 'missing' : `retains ${bytes(m.slotRetainedBytes)}`}`);
  parts.push(
    m.disk.ok
      ? `volume ${bytes(m.disk.usedBytes)} (fs ${bytes(m.disk.fsAvailBytes)} free)`
      : `volume ? (${m.disk.error})`,
  );
  return `  ${parts.join('  ')}`;
}

/** The report as lines for a terminal. */
export function formatHealthReport(r: HealthReport & Partial<Pick<HealthCheckResult, 'stored'>>): string[] {
  const degraded = `DEGRADED (${r.problems.length} problem${r.problems.length === 1 ? '' : 's'})`;
  const lines = [`cluster ${r.cluster}: ${r.status === 'healthy' ? 'HEALTHY' : degraded} at ${r.at}`];
  if (r.problems.length) lines.push('problems:', ...r.problems.map((p) => `  - ${problemText(p)}`));
  if (r.notes.length) lines.push('notes:', ...r.notes.map((n) => `  - ${n}`));
  lines.push('members:', ...r.members.map(memberLine), 'groups:');
  for (const g of r.groups)
    lines.push(
      `  ${g.group}: primary ${g.primary}${g.primaryFromSpec ? ' (from the spec)' : ''}; streaming: ` +
        `${g.streaming.join(', ') || 'none'}; synchronous: ${g.synchronous.join(', ') || 'none'}`,
    );
  const c = r.citus;
  if (!c.ok) lines.push(`citus: ${c.error}`);
  else {
    const health = c.nodeHealth.available
      ? `node health ${c.nodeHealth.rows.filter((x) => x.result === true).length}/${c.nodeHealth.rows.length} ok`
      : 'node health unavailable';
    const node = (n: (typeof c.distNodes)[number]) =>
      `${n.nodename}[${n.groupid}]${n.noderole === 'primary' ? '' : `/${n.noderole}`}${n.isactive ? '' : ' inactive'}` +
      `${n.hasmetadata && !n.metadatasynced ? ' unsynced' : ''}`;
    lines.push(`citus (on ${c.coordinator}): ${health}; pg_dist_node: ${c.distNodes.map(node).join(', ')}`);
  }
  const b = r.pgbouncer;
  const pool = (p: Extract<typeof b, { ok: true }>['pools'][number]) =>
    `${p.user}@${p.database} cl ${p.clActive}/${p.clWaiting} waiting, sv ${p.svActive} active ${p.svIdle} idle`;
  lines.push(
    b.ok
      ? `pgbouncer: routes to ${b.database?.host ?? '?'}${b.database?.paused ? ' (PAUSED)' : ''}; pools: ` +
          `${b.pools.map(pool).join('; ') || 'none'}`
      : `pgbouncer: ${b.error}`,
  );
  const e = r.etcd;
  lines.push(
    e.ok
      ? `etcd: ${e.version}, db ${bytes(e.dbSizeBytes)}${e.alarms.length ? `, alarms: ${e.alarms.join(', ')}` : ''}`
      : `etcd: ${e.error}`,
  );
  const n = r.certificates?.nearest;
  if (n) lines.push(`certificates: nearest expiry ${n.id} on ${n.notAfter} (${n.daysLeft} days left)`);
  if (r.backups) lines.push(...backupHealthLines(r.backups));
  const m = r.monitor;
  const v = m.view;
  const maintenance =
    v && (v.maintenance.cluster || v.maintenance.groups.length)
      ? `, maintenance ${v.maintenance.cluster ? 'cluster' : v.maintenance.groups.join(',')}`
      : '';
  const view = v
    ? `, ${v.state}, last probe ${v.lastProbeAt ?? 'never'}${maintenance}`
    : m.error
      ? ` (${m.error})`
      : '';
  lines.push(`monitor: ${m.workflowId} ${m.status}${view}`);
  if (r.stored) lines.push(r.stored.ok ? `stored in etcd: ${r.stored.key}` : `not stored in etcd: ${r.stored.error}`);
  return lines;
}

/** Archiving per group, the repository, the newest backup and the newest verification (its result). */
export function backupHealthLines(b: BackupReport): string[] {
  if (!b.enabled) return ['backups: disabled'];
  const lines = ['backups:'];
  for (const g of b.groups) {
    const state = g.failing ? `FAILING (${g.failedCount} failures)` : 'ok';
    const lag = g.lagSegments === null ? '' : `, ${g.lagSegments} segment(s) behind`;
    lines.push(
      `  archive ${g.group.padEnd(12)} on ${g.member}: ${state}, last ${g.lastArchivedWal ?? 'none'} at ` +
        `${g.lastArchivedTime ?? '-'}${lag}${g.error ? ` (${g.error})` : ''}`,
    );
  }
  if (b.repo)
    lines.push(
      b.repo.ok === null
        ? `  repository: ${b.repo.note}`
        : b.repo.ok
          ? `  repository: ${bytes(b.repo.usedBytes)} used, filesystem ${b.repo.usedPercent ?? '?'}% full`
          : `  repository: ${b.repo.error}`,
    );
  const c = b.catalog;
  if (c && !c.ok) lines.push(`  catalog: ${c.error}`);
  else if (c) {
    lines.push(
      c.newestBackup
        ? `  newest backup: ${c.newestBackup.id} at ${c.newestBackup.finishedAt}`
        : '  newest backup: none yet',
    );
    const v = c.newestVerification;
    lines.push(
      v
        ? `  newest verification: ${v.id} ${v.ok ? 'ok' : 'FAILED'} at ${v.finishedAt} (backup ${v.backupId})` +
            (v.ok ? '' : `: ${v.problems.join('; ')}`)
        : '  newest verification: none yet',
    );
  }
  return lines;
}
