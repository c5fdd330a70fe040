/**
 * The cluster's monitor workflow (`monitor-<cluster>`, workflows/monitor.ts) from the client side:
 * `up` makes sure it runs (idempotent: a running monitor is left as it is, with its state), and
 * `pause` / `resume` send it their Updates. It runs on its own task queue, which only long-lived
 * workers (`citusctl worker`) poll: a CLI command's in-process worker never picks it up (it would
 * act on the cluster for as long as the command runs, and wait for its probe at exit).
 */
import type { Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { workflowInput } from '../common/inputs';
import type { ClusterSpec } from '../common/spec';
import { monitorWorkflowId } from '../common/workflow-ids';
import { stateDir } from '../lib/state-dir';
import { MONITOR_TASK_QUEUE, ensureTemporal } from '../lib/temporal-server';
import type { MaintenanceInput } from '../workflows/monitor';
import { reloadSpecSignal } from '../workflows/monitor-signals';
import { ensureHealthSchedule, type EnsuredSchedule } from './health-schedule';
import { connectClient } from './temporal-client';

/** The monitor's workflow id (status and down look for it). */
export const monitorId = monitorWorkflowId;

/**
 * Starts the monitor unless it runs, with the cluster's name only: it reads the spec the setup
 * stored (the images the worker resolved, not the ones this CLI saw). A running one is told to
 * reload the stored spec (the setup just stored it: a group may have been added); it keeps its state.
 */
export async function ensureMonitor(client: Client, spec: ClusterSpec): Promise<{ workflowId: string; runId: string; started: boolean }> {
  const workflowId = monitorWorkflowId(spec.name);
  const running = (await client.workflow.getHandle(workflowId).describe().catch(() => undefined))?.status.name === 'RUNNING';
  const handle = await client.workflow.start('monitorCluster', {
    taskQueue: MONITOR_TASK_QUEUE,
    workflowId,
    args: [workflowInput('monitorCluster', { cluster: spec.name })],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  });
  if (running) await handle.signal(reloadSpecSignal);
  return { workflowId, runId: handle.firstExecutionRunId, started: !running };
}

/** For `up`: the monitor and the health schedule (health-<cluster>), both idempotently, on the cluster's Temporal server. */
export async function startMonitor(spec: ClusterSpec, log: (line: string) => void): Promise<{ workflowId: string; started: boolean; healthSchedule: EnsuredSchedule }> {
  const endpoint = await ensureTemporal(stateDir(), process.env);
  const { client, close } = await connectClient(endpoint);
  try {
    const r = await ensureMonitor(client, spec);
    log(`monitor: ${r.workflowId} ${r.started ? 'started' : 'already running'}`);
    const healthSchedule = await ensureHealthSchedule(client, spec);
    log(`health: schedule ${healthSchedule.scheduleId} ${healthSchedule.outcome} (every ${spec.health.intervalSeconds} s)`);
    return { ...r, healthSchedule };
  } finally {
    await close();
  }
}

/** Sends `pause` or `resume` to the monitor; the answer is the maintenance state now in force. */
export async function setMaintenance(spec: ClusterSpec, update: 'pause' | 'resume', input: MaintenanceInput): Promise<unknown> {
  const endpoint = await ensureTemporal(stateDir(), process.env);
  const { client, close } = await connectClient(endpoint);
  try {
    const handle = client.workflow.getHandle(monitorWorkflowId(spec.name));
    const d = await handle.describe().catch(() => undefined);
    if (d?.status.name !== 'RUNNING') throw new Error(`the monitor ${monitorWorkflowId(spec.name)} is not running: \`citusctl up\` starts it`);
    return await handle.executeUpdate(update, { args: [input] });
  } finally {
    await close();
  }
}
