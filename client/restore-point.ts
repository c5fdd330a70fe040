/**
 * `citusctl restore-point [NAME]`: runs restorePoint (`restore-point-<cluster>-<name>`) and prints
 * the point: its name, the coordinator's LSN, each group's primary and position, how long writes
 * were held and the row counts recorded. Without a name the CLI picks `rp-<UTC time>` first, since
 * the workflow id carries the name.
 */
import type { RestorePointRecord } from '../common/backup-records';
import { workflowInput } from '../common/inputs';
import { defaultPointName } from '../common/restore-point';
import { restorePointWorkflowId } from '../common/workflow-ids';
import { runWorkflow, type RunReport } from './run-workflow';

export interface RestorePointOptions {
  name?: string;
  rowCounts: boolean;
  json?: boolean;
  worker?: boolean;
  log: (line: string) => void;
  now?: Date;
}

/** `cluster`: its stored spec is used (the workflow reads it). */
export async function createRestorePoint(
  cluster: string,
  opts: RestorePointOptions,
): Promise<RunReport<RestorePointRecord>> {
  const name = opts.name ?? defaultPointName(opts.now ?? new Date());
  const input = workflowInput('restorePoint', { cluster, name, rowCounts: opts.rowCounts });
  return runWorkflow<RestorePointRecord>({
    workflowType: 'restorePoint',
    workflowId: restorePointWorkflowId(cluster, name),
    args: [input],
    json: opts.json,
    worker: opts.worker === false ? false : 'auto',
    log: opts.log,
  });
}

export function restorePointLines(r: RestorePointRecord): string[] {
  const lines = [
    `restore point ${r.name} of ${r.cluster} at ${r.createdAt} (${r.origin})`,
    `coordinator LSN ${r.coordinatorLsn}; distributed writes held ${r.pauseMs} ms`,
  ];
  for (const [group, g] of Object.entries(r.groups))
    lines.push(`  ${group}: ${g.primary} at ${g.lsn} (timeline ${g.timeline}, segment ${g.walFile} archived)`);
  if (r.rowCounts) {
    lines.push('rows at the point:');
    for (const [table, n] of Object.entries(r.rowCounts)) lines.push(`  ${table}: ${n}`);
  } else lines.push('rows not counted (--no-counts)');
  return lines;
}
