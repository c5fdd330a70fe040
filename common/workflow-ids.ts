/**
 * Every workflow id (and the health schedule's id) built in one place. The ids are how the CLI, the
 * monitor and `down` find a cluster's workflows, and one id per group (or member) is what keeps two
 * failovers of one group from running at once: builders, never hand-written template literals.
 */

/**
 * The first word of every id built here, `<kind>-<cluster>[-...]`: what `down` looks for (common/cluster-workflows.ts).
 */
export const WORKFLOW_ID_KINDS = [
  'setup',
  'failover',
  'switchover',
  'rejoin',
  'unfence',
  'monitor',
  'health',
  'rebalance',
  'drain',
  'certs',
  'restore',
  'restore-point',
  'backup',
  'verify-backup',
  'expire-backups',
] as const;
export type WorkflowIdKind = (typeof WORKFLOW_ID_KINDS)[number];

const idOf = (kind: WorkflowIdKind, cluster: string, ...rest: string[]) => [kind, cluster, ...rest].join('-');

/** `setup-<cluster>`: `citusctl up`'s setupCluster. */
export const setupWorkflowId = (cluster: string) => idOf('setup', cluster);
/** `failover-<cluster>-<group>`: one per group, whoever starts it (the CLI, the monitor). */
export const failoverWorkflowId = (cluster: string, group: string) => idOf('failover', cluster, group);
/** `switchover-<cluster>-<group>`. */
export const switchoverWorkflowId = (cluster: string, group: string) => idOf('switchover', cluster, group);
/** `rejoin-<cluster>-<member>`: one per member. */
export const rejoinWorkflowId = (cluster: string, member: string) => idOf('rejoin', cluster, member);
/** `unfence-<cluster>-<member>`. */
export const unfenceWorkflowId = (cluster: string, member: string) => idOf('unfence', cluster, member);
/** `monitor-<cluster>`: the cluster's one monitor. */
export const monitorWorkflowId = (cluster: string) => idOf('monitor', cluster);
/** `health-<cluster>`: the schedule's id, and the prefix of the workflow ids it starts (Temporal appends the time). */
export const healthScheduleId = (cluster: string) => idOf('health', cluster);
/** A health check started by hand (`citusctl health`): its own id, so it never waits for a scheduled one. */
export const healthRunId = (cluster: string, at: Date) =>
  idOf('health', cluster, at.toISOString().replace(/[:.]/g, '-'));
/** `rebalance-<cluster>`: one rebalance at a time per cluster (Citus runs one job anyway). */
export const rebalanceWorkflowId = (cluster: string) => idOf('rebalance', cluster);
/** `drain-<cluster>-<group>`: drain and remove one worker group. */
export const drainWorkflowId = (cluster: string, group: string) => idOf('drain', cluster, group);
/**
 * `certs-<cluster>`: `citusctl certs rotate`'s rotateCertificates, and the Schedule that renews the
 * certificates (its runs' ids are this one with the time appended).
 */
export const certsWorkflowId = (cluster: string) => idOf('certs', cluster);
export const certsScheduleId = certsWorkflowId;
/**
 * `verify-backup-<cluster>`: the proof that the newest backup restores (workflows/verify-backup.ts),
 * and the Schedule that runs it (its runs' ids are this one with the time appended).
 */
export const verifyBackupWorkflowId = (cluster: string) => idOf('verify-backup', cluster);
export const verifyBackupScheduleId = verifyBackupWorkflowId;
/**
 * `restore-<new cluster>`: `citusctl restore --as <new>`'s restoreCluster (one restore per new
 * cluster; `down --cluster <new>` stops it by this prefix).
 */
export const restoreWorkflowId = (newCluster: string) => idOf('restore', newCluster);
/**
 * `restore-point-<cluster>-<name>`: one run per point name (a second request of one name joins or
 * is refused); `restore-point-<cluster>` is the Schedule's id (its runs append the time).
 */
export const restorePointWorkflowId = (cluster: string, name: string) => idOf('restore-point', cluster, name);
export const restorePointScheduleId = (cluster: string) => idOf('restore-point', cluster);
/**
 * `backup-<cluster>`: `citusctl backup`'s backupCluster, and the Schedule that takes the base
 * backups (its runs' ids are this one with the time appended).
 */
export const backupWorkflowId = (cluster: string) => idOf('backup', cluster);
export const backupScheduleId = backupWorkflowId;
/**
 * `expire-backups-<cluster>`: expiry of the backups past retention, started by each backup once it is
 * recorded (the backup returns without waiting for it); one at a time per cluster.
 */
export const expireBackupsWorkflowId = (cluster: string) => idOf('expire-backups', cluster);
