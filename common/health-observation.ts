/**
 * What the healthCheck workflow's activities observe, section by section. Plain JSON (the report is
 * a workflow result and an etcd value), no secrets. A part that cannot be reached is data here
 * (`ok: false` with the reason), never an exception: the verdict (health-report.ts) names it.
 * Pure: safe in workflows.
 */
import type { MemberStateName } from './member-state';
import type { ContainerStatus, MemberSql, MemberSqlView } from './member-observation';
import type { StuckWorkflow } from './cluster-workflows';

export type { ContainerStatus, SlotView, WalSenderView } from './member-observation';

/** A node's SQL view: the one member observation (member-observation.ts), in full. */
export type NodeSqlView = MemberSqlView;
export type NodeSql = MemberSql;

/** The member's data volume, measured inside its container (du of the volume, df of its filesystem). */
export type DiskUse =
  | { ok: true; path: string; usedBytes: number; fsSizeBytes: number; fsAvailBytes: number }
  | { ok: false; error: string };

export interface NodeObservation {
  member: string;
  container: ContainerStatus;
  sql: NodeSql;
  disk: DiskUse;
}

export type EtcdObservation =
  | {
      ok: true;
      version: string;
      dbSizeBytes: number;
      leader: string;
      alarms: string[];
      /** group -> primary as recorded (absent: no record yet). */
      primaries: Record<string, string>;
      memberStates: Record<string, MemberStateName>;
      maintenance?: { cluster: boolean; groups: string[] };
    }
  | { ok: false; error: string };

/** One row of citus_check_cluster_node_health(): can `from` connect to `to`? (null: `from` not reachable). */
export interface NodeHealthRow {
  from: string;
  fromPort: number;
  to: string;
  toPort: number;
  result: boolean | null;
}

export interface DistNodeRow {
  nodeid: number;
  groupid: number;
  nodename: string;
  nodeport: number;
  noderole: string;
  isactive: boolean;
  hasmetadata: boolean;
  metadatasynced: boolean;
}

export type CitusObservation =
  | {
      ok: true;
      coordinator: string;
      /** unavailable: the installed Citus has no citus_check_cluster_node_health(). */
      nodeHealth: { available: true; rows: NodeHealthRow[] } | { available: false; reason: string };
      distNodes: DistNodeRow[];
    }
  | { ok: false; coordinator: string; error: string };

/** One SHOW POOLS row (the counters citusctl reads). */
export interface PoolView {
  database: string;
  user: string;
  clActive: number;
  clWaiting: number;
  svActive: number;
  svIdle: number;
  svUsed: number;
  /** Seconds the oldest waiting client has waited. */
  maxWaitSeconds: number;
  poolMode: string;
}

export type PgBouncerObservation =
  { ok: true; database: { host: string; paused: boolean } | null; pools: PoolView[] } | { ok: false; error: string };

export interface MonitorView {
  state: string;
  maintenance: { cluster: boolean; groups: string[]; reason?: string };
  lastProbeAt?: string;
  lastError?: string;
  runs?: number;
}

export interface MonitorObservation {
  workflowId: string;
  /** Temporal's execution status (RUNNING, COMPLETED, ...), NOT_FOUND, or UNKNOWN when Temporal did not answer. */
  status: string;
  /** Its `status` query, when it answered. */
  view?: MonitorView;
  error?: string;
  /**
   * Every workflow of the cluster (the monitor included) whose workflow task keeps failing, when Temporal was asked.
   */
  stuckWorkflows?: StuckWorkflow[];
}
