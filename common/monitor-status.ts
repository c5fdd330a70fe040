/**
 * The monitor workflow's status as its `status` query answers it, the maintenance state it keeps
 * (in etcd and across continue-as-new), and the actions it records: shared by the workflow, the
 * activities that store maintenance, and the readers (health check, `citusctl status`).
 */
import type { ClusterDecision, FailoverPolicy, GroupStatus, Maintenance, MonitorAction } from './monitor-decisions';

/** Maintenance as stored: which groups (or the whole cluster) the monitor leaves alone, since when, by whom, why. */
export interface MaintenanceRecord extends Maintenance {
  at: string;
  by?: string;
  reason?: string;
}

export interface ActionRecord {
  at: number;
  kind: MonitorAction['kind'];
  target: string;
  outcome: 'started' | 'done' | 'failed' | 'skipped';
  detail: string;
}

export interface MaintenanceInput {
  /** One group; none: the whole cluster. */
  group?: string;
  by?: string;
  reason?: string;
}

export interface MonitorStatus {
  cluster: string;
  state: 'starting' | 'watching' | 'acting' | 'continuing-as-new';
  policy: FailoverPolicy;
  allowAsyncFailover: boolean;
  maintenance: MaintenanceRecord;
  runs: number;
  iterations: number;
  lastProbeAt?: string;
  etcdOk?: boolean;
  pgbouncerOk?: boolean;
  groups: Record<string, GroupStatus>;
  /** PgBouncer's and etcd's containers as Docker reports them, and why one down is left alone. */
  services?: ClusterDecision['services'];
  inFlight: { failovers: Record<string, string>; rejoins: Record<string, string> };
  lastActions: ActionRecord[];
  lastError?: string;
}

/**
 * The status query's answer as a reader outside the workflow takes it: a run of another build may
 * answer, so every field is checked before use.
 */
export type MonitorStatusLike = { [K in Exclude<keyof MonitorStatus, 'maintenance'>]?: unknown } & {
  maintenance?: { [K in keyof MaintenanceRecord]?: unknown };
};
