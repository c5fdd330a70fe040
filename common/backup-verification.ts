/**
 * The scheduled proof that a backup restores (workflows/verify-backup.ts), its pure decisions: the
 * scratch cluster's name, and whether what the restored cluster holds is what the restore point
 * recorded (every Citus table readable, the same row counts, every node reaching every other).
 * Pure: the workflow decides with it, the unit tests call it with tables.
 */
import type { NodeHealthRow } from './health-observation';
import type { VerificationRecord } from './backup-records';

/** Cluster names are at most 31 characters (common/spec.ts dnsName). */
const MAX_CLUSTER_NAME = 31;

/**
 * The scratch cluster a verification restores into: `<the cluster's first 20 characters>-v<time>`,
 * the time in base 36 seconds (unique per run: one verification of a cluster runs at a time, its
 * workflow id says so), at most 31 characters and a valid cluster name.
 */
export function scratchClusterName(cluster: string, at: Date): string {
  const stem = cluster.slice(0, 20).replace(/-+$/, '');
  const name = `${stem}-v${Math.floor(at.getTime() / 1000).toString(36)}`;
  return name.slice(0, MAX_CLUSTER_NAME);
}

/**
 * The input of the restoreCluster child that builds the scratch cluster: the source's backups,
 * restored to the backup's own restore point, on free ports, as a scratch cluster (one member
 * per group; no schedules, no monitor: it lives for one check).
 */
export function scratchRestoreInput(source: string, scratch: string, point: string) {
  return { as: scratch, from: source, target: { point }, freePorts: true, scratch: true };
}

/** `public.demo`, `"public"."demo"` and `demo` are one table: unquoted, schema-qualified (public by default). */
export function tableKey(name: string): string {
  const parts = name.match(/("([^"]|"")*"|[^.]+)/g) ?? [name];
  const bare = parts.map((p) => (p.startsWith('"') ? p.slice(1, -1).replace(/""/g, '"') : p));
  return bare.length === 1 ? `public.${bare[0]}` : bare.join('.');
}

/** What checkRestoredCluster read in the restored cluster. */
export interface RestoredClusterView {
  /** Every Citus table (pg_dist_partition) and its row count, or why it could not be read. */
  tables: { name: string; rows: number | null; error?: string }[];
  /** citus_check_cluster_node_health(), or why it could not be asked. */
  nodeHealth: { ok: true; rows: NodeHealthRow[] } | { ok: false; error: string };
}

export interface VerificationOutcome {
  ok: boolean;
  problems: string[];
  tables: VerificationRecord['tables'];
}

/**
 * The verdict: every table recorded at the point is in the restored cluster, readable, with the
 * recorded count; every table of the restored cluster is readable; every node reaches every other.
 * A point recorded without counts (`null`) proves readability and node health only, and says so.
 */
export function verificationOutcome(
  expected: Record<string, number> | null,
  view: RestoredClusterView,
): VerificationOutcome {
  const problems: string[] = [];
  const tables: VerificationRecord['tables'] = {};
  const want = new Map(Object.entries(expected ?? {}).map(([name, rows]) => [tableKey(name), rows]));
  const found = new Map(view.tables.map((t) => [tableKey(t.name), t]));
  for (const [key, t] of found) {
    const rows = want.get(key);
    if (t.rows === null) {
      problems.push(`${key}: not readable: ${t.error ?? 'no answer'}`);
      continue;
    }
    tables[key] = { expected: rows ?? null, found: t.rows };
    if (rows !== undefined && rows !== t.rows)
      problems.push(`${key}: ${t.rows} rows, the restore point recorded ${rows}`);
  }
  for (const [key, rows] of want) {
    if (!found.has(key)) problems.push(`${key}: recorded at the restore point (${rows} rows), missing in the restore`);
  }
  if (!view.nodeHealth.ok) problems.push(`citus_check_cluster_node_health(): ${view.nodeHealth.error}`);
  else {
    for (const r of view.nodeHealth.rows) {
      if (r.result !== true) problems.push(`node health: ${r.from}:${r.fromPort} cannot reach ${r.to}:${r.toPort}`);
    }
    if (!view.nodeHealth.rows.length) problems.push('citus_check_cluster_node_health() returned no rows');
  }
  return { ok: problems.length === 0, problems, tables };
}

/** One line of a verification, for status, health and the workflow's failure. */
export function describeVerification(v: VerificationRecord): string {
  const tables = Object.keys(v.tables).length;
  return v.ok
    ? `${v.id}: ok, backup ${v.backupId} restored to ${v.restorePoint}, ${tables} table(s) matched (${v.finishedAt})`
    : `${v.id}: FAILED, backup ${v.backupId} to ${v.restorePoint} (${v.finishedAt}): ${v.problems.join('; ')}`;
}
