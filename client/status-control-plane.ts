/**
 * The control plane's part of `citusctl status`: the supervised worker (supervisor and worker
 * processes), the embedded Temporal server (started again when it is down, as `up` would), and
 * the cluster's monitor (state, maintenance, last probe, per-group health) by its `status` query,
 * and the build it runs on, flagged when no worker polls that build's queue; and any workflow of the
 * cluster whose workflow task keeps failing.
 */
import type { StuckWorkflow } from '../common/cluster-workflows';
import type { ClusterSpec } from '../common/spec';
import { buildOfMonitorQueue } from '../common/task-queues';
import { queuePolled } from '../lib/monitor-handoff';
import { stuckClusterWorkflows } from '../lib/cluster-workflow-list';
import { stateDir } from '../lib/state-dir';
import { pidAlive, supervisedWorkerState, workerLog } from '../lib/supervised-worker-files';
import { workflowBuild } from '../worker/build-id';
import type { MonitorStatus } from '../workflows/monitor';
import { monitorId } from './monitor';
import { connectForCleanup } from './temporal-client';

const MONITOR_QUERY_DEADLINE_MS = 5_000;
const STUCK_DEADLINE_MS = 5_000;

export interface WorkerStatus {
  supervised: boolean;
  supervisorPid?: number;
  workerPid?: number;
  /** The standby worker process (loaded, not polling): it takes over when the polling one dies. */
  standbyPid?: number;
  /** The worker polls the task queues now. */
  polling: boolean;
  restarts?: number;
  since?: string;
  /** Prometheus text, served by the worker. */
  metricsUrl?: string;
  /** The workflow build the worker runs (its monitor queue is named after it). */
  build?: string;
  log: string;
}

/** Where a running monitor runs: its task queue, that queue's build, and whether a live worker polls it. */
export interface MonitorPlacement {
  taskQueue: string;
  build?: string;
  polled: boolean;
  /** The build of this citusctl (what `up` would move the monitor to). */
  cliBuild: string;
}

export type MonitorView =
  | ({ running: true } & MonitorStatus & MonitorPlacement)
  | ({ running: false; reason: string } & Partial<MonitorPlacement>);

export interface ControlPlaneStatus {
  temporal: { address?: string; reachable: boolean; reason?: string };
  worker: WorkerStatus;
  monitor: MonitorView;
  /** Workflows of the cluster stuck on a failing workflow task (absent when Temporal could not be asked). */
  stuckWorkflows?: StuckWorkflow[];
  stuckWorkflowsError?: string;
}

export function workerStatus(root: string): WorkerStatus {
  const s = supervisedWorkerState(root);
  return {
    supervised: !!s.supervisor,
    supervisorPid: s.supervisor?.pid,
    workerPid: s.worker?.pid,
    standbyPid: s.supervisor?.standbyPid && pidAlive(s.supervisor.standbyPid) ? s.supervisor.standbyPid : undefined,
    polling: !!s.worker,
    restarts: s.supervisor?.restarts,
    since: s.worker?.startedAt,
    metricsUrl: s.worker?.metricsUrl,
    build: s.worker?.build,
    log: workerLog(root),
  };
}

export async function controlPlaneStatus(spec: ClusterSpec): Promise<ControlPlaneStatus> {
  const root = stateDir();
  const worker = workerStatus(root);
  const { connected, address, why } = await connectForCleanup(root, process.env);
  if (!connected)
    return {
      temporal: { address, reachable: false, reason: why },
      worker,
      monitor: { running: false, reason: `Temporal not reachable: ${why}` },
    };
  try {
    const { client } = connected;
    const stuck = await client
      .withDeadline(Date.now() + STUCK_DEADLINE_MS, () => stuckClusterWorkflows(client, spec.name))
      .then(
        (stuckWorkflows) => ({ stuckWorkflows }),
        (err: Error) => ({ stuckWorkflowsError: err.message }),
      );
    const handle = client.workflow.getHandle(monitorId(spec.name));
    const described = await client
      .withDeadline(Date.now() + MONITOR_QUERY_DEADLINE_MS, () => handle.describe())
      .catch(() => undefined);
    if (described?.status.name !== 'RUNNING') {
      return {
        temporal: { address, reachable: true },
        worker,
        monitor: {
          running: false,
          reason: described ? `monitor ${described.status.name.toLowerCase()}` : 'no monitor (`citusctl up` starts it)',
        },
        ...stuck,
      };
    }
    const polled = await client
      .withDeadline(Date.now() + MONITOR_QUERY_DEADLINE_MS, () => queuePolled(client, described.taskQueue))
      .catch(() => false);
    const placement: MonitorPlacement = {
      taskQueue: described.taskQueue,
      build: buildOfMonitorQueue(described.taskQueue),
      polled,
      cliBuild: workflowBuild(),
    };
    // Every call is awaited (bounded by its deadline) before the connection closes below.
    const monitor = await client
      .withDeadline(Date.now() + MONITOR_QUERY_DEADLINE_MS, () => handle.query<MonitorStatus>('status'))
      .then((m): MonitorView => ({ running: true, ...m, ...placement }))
      .catch((err: Error): MonitorView => ({
        running: false,
        reason: `monitor running but not answering${polled ? ' (its worker is slow or stuck)' : ''}: ${err.message}`,
        ...placement,
      }));
    return { temporal: { address, reachable: true }, worker, monitor, ...stuck };
  } finally {
    await connected.close();
  }
}
