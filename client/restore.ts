/**
 * `citusctl restore --as NEW --to POINT|TIME|latest [--from C] [--config FILE]`: runs restoreCluster
 * (`restore-<new>`) and follows it, then gives the restored cluster what `up` gives a cluster:
 * the host pgpass, the monitor and its schedules (client/monitor.ts startMonitor) with the
 * supervised worker they need. Also what a benchmark calls to time a restore.
 */
import { workflowInput, type RestoreClusterInput } from '../common/inputs';
import type { PartialSpecInput } from '../common/spec';
import { parseRestoreTarget } from '../common/restore-target';
import { restoreWorkflowId } from '../common/workflow-ids';
import { SecretStore } from '../lib/secrets';
import { stateDir } from '../lib/state-dir';
import { ensureTemporal } from '../lib/temporal-server';
import { TlsStore } from '../lib/tls/tls-store';
import type { RestoreClusterResult } from '../workflows/restore-cluster';
import { METRICS_PORT_ENV } from '../worker/metrics-server';
import { firstBackupAfterRestore, triggerBackupSchedule } from './backup-schedule';
import { startMonitor } from './monitor';
import { runWorkflow, type RunReport } from './run-workflow';
import { ensureSupervisedWorker } from './supervised-worker';
import { connectClient } from './temporal-client';

export interface RestoreOptions {
  as: string;
  /** Default: `as` (in place). */
  from?: string;
  /** A restore point's name, an ISO time, or `latest`. */
  to: string;
  /** The new cluster's spec file (--config): its ports and settings. */
  spec?: PartialSpecInput;
  json?: boolean;
  worker?: boolean | 'auto';
  /** Start the monitor, its schedules and the supervised worker (default true). */
  monitor?: boolean;
}

/** The new cluster's first base backup: started now (its schedule triggered), or why not. */
export type FirstBackup = { started: true; scheduleId: string } | { started: false; why: string };

export type RestoreReport = RunReport<RestoreClusterResult> & {
  pgpass: string;
  caPath: string;
  firstBackup: FirstBackup;
};

export function restoreInput(opts: RestoreOptions): RestoreClusterInput {
  return workflowInput('restoreCluster', {
    as: opts.as,
    ...(opts.from ? { from: opts.from } : {}),
    target: parseRestoreTarget(opts.to),
    ...(opts.spec ? { spec: opts.spec } : {}),
  });
}

export async function restore(opts: RestoreOptions, log: (line: string) => void): Promise<RestoreReport> {
  const report = await runWorkflow<RestoreClusterResult>({
    workflowType: 'restoreCluster',
    workflowId: restoreWorkflowId(opts.as),
    args: [restoreInput(opts)],
    json: opts.json,
    worker: opts.worker ?? 'auto',
    log,
  });
  const { spec } = report.result;
  const root = stateDir();
  const pgpass = await new SecretStore(root).writeHostPgpass(spec.name, {
    postgres: spec.members.map((m) => m.port),
    pgbouncer: spec.pgbouncer.port,
  });
  const caPath = new TlsStore(root).caPath(spec.name);
  if (opts.monitor !== false) {
    await ensureSupervisedWorker(root, { ...process.env, [METRICS_PORT_ENV]: String(spec.metrics.port) }, log);
    await startMonitor(spec, log);
  }
  const firstBackup = await startFirstBackup(report.result, opts.monitor !== false, log);
  return { ...report, pgpass, caPath, firstBackup };
}

/**
 * Under a new name the repository is empty until a backup: the schedule's run starts now (status
 * says "none yet" meanwhile). A failure to trigger is reported, not thrown: the restore is done.
 */
async function startFirstBackup(
  r: RestoreClusterResult,
  monitor: boolean,
  log: (line: string) => void,
): Promise<FirstBackup> {
  const plan = firstBackupAfterRestore({ inPlace: r.inPlace, backupsEnabled: r.spec.backup.enabled, monitor });
  if (!plan.trigger) {
    log(`backup: no first backup started now (${plan.why})`);
    return { started: false, why: plan.why };
  }
  try {
    const { client, close } = await connectClient(await ensureTemporal(stateDir(), process.env));
    try {
      const { scheduleId } = await triggerBackupSchedule(client, r.spec);
      log(`backup: the first backup of ${r.cluster} started (schedule ${scheduleId} triggered)`);
      return { started: true, scheduleId };
    } finally {
      await close();
    }
  } catch (err) {
    // The restore is done all the same: the schedule's next run (or `citusctl backup`) takes the backup.
    const why = `the backup schedule could not be triggered: ${err instanceof Error ? err.message : String(err)}`;
    log(`backup: no first backup started now (${why})`);
    return { started: false, why };
  }
}

/** What a human reads: the point and why, the ports, how to connect. */
export function restoreLines(r: RestoreReport, psql: (port: number, user: string, ca: string) => string): string[] {
  const x = r.result;
  const members = x.spec.members.map((m) => `${m.name} ${m.port}`).join(', ');
  return [
    `cluster ${x.cluster} restored ${x.inPlace ? 'in place' : `from ${x.from}`} to ${x.note}`,
    `  primaries: ${Object.entries(x.primaries)
      .map(([g, m]) => `${g} ${m}`)
      .join(', ')}`,
    `  ports${x.portsPicked ? ' (free ones picked)' : ''}: ${members}; ` +
      `PgBouncer ${x.spec.pgbouncer.port}; etcd ${x.spec.etcd.port}`,
    `  clients: PGPASSFILE=${r.pgpass} ${psql(x.spec.pgbouncer.port, 'app', r.caPath)}`,
    `  citusctl status --cluster ${x.cluster}; citusctl down --cluster ${x.cluster}`,
    r.firstBackup.started
      ? `  first backup: started (schedule ${r.firstBackup.scheduleId}); until it is done the repository is empty`
      : `  first backup: not started now (${r.firstBackup.why})`,
  ];
}
