/**
 * The control plane's part of `citusctl status`: the supervised worker (supervisor and worker
 * processes), the embedded Temporal server (started again when it is down, as `up` would), and
 * the cluster's monitor (state, maintenance, last probe, per-group health) by its `status` query.
 */
import type { ClusterSpec } from '../common/spec';
import { stateDir } from '../lib/state-dir';
import { pidAlive, supervisedWorkerState, workerLog } from '../lib/supervised-worker-files';
import type { MonitorStatus } from '../workflows/monitor';
import { monitorId } from './monitor';
import { connectForCleanup } from './temporal-client';

const MONITOR_QUERY_DEADLINE_MS = 5_000;

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
  log: string;
}

export type MonitorView = ({ running: true } & MonitorStatus) | { running: false; reason: string };

export interface ControlPlaneStatus {
  temporal: { address?: string; reachable: boolean; reason?: string };
  worker: WorkerStatus;
  monitor: MonitorView;
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
    log: workerLog(root),
  };
}

export async function controlPlaneStatus(spec: ClusterSpec): Promise<ControlPlaneStatus> {
  const root = stateDir();
  const worker = workerStatus(root);
  const { connected, address, why } = await connectForCleanup(root, process.env);
  if (!connected) return { temporal: { address, reachable: false, reason: why }, worker, monitor: { running: false, reason: `Temporal not reachable: ${why}` } };
  try {
    const { client } = connected;
    const handle = client.workflow.getHandle(monitorId(spec.name));
    const described = await client.withDeadline(Date.now() + MONITOR_QUERY_DEADLINE_MS, () => handle.describe()).catch(() => undefined);
    if (described?.status.name !== 'RUNNING') {
      return { temporal: { address, reachable: true }, worker, monitor: { running: false, reason: described ? `monitor ${described.status.name.toLowerCase()}` : 'no monitor (`citusctl up` starts it)' } };
    }
    // Every call is awaited (bounded by its deadline) before the connection closes below.
    const monitor = await client
      .withDeadline(Date.now() + MONITOR_QUERY_DEADLINE_MS, () => handle.query<MonitorStatus>('status'))
      .then((m): MonitorView => ({ running: true, ...m }))
      .catch((err: Error): MonitorView => ({ running: false, reason: `monitor running but not answering (no worker polls?): ${err.message}` }));
    return { temporal: { address, reachable: true }, worker, monitor };
  } finally {
    await connected.close();
  }
}
