/**
 * Stops everything Temporal runs for a cluster, before `down` removes its containers: deletes the
 * cluster's schedules (so none starts a new run), cancels every running workflow of the cluster,
 * waits a bounded time for them to close, then terminates those still running. Repeats while a
 * listing still finds one (a workflow started in the meantime).
 */
import {
  ScheduleNotFoundError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';
import { ownedByCluster } from '../common/cluster-workflows';
import { listRunningClusterWorkflows } from '../lib/cluster-workflow-list';

export interface StopOptions {
  /** How long cancelled workflows get to close before they are terminated (default 10 s). */
  cancelWaitMs?: number;
  /** Other known clusters (ids of "demo-x" are not "demo"'s). */
  otherClusters?: string[];
  log?: (line: string) => void;
}

export interface StopReport {
  schedulesDeleted: string[];
  cancelled: string[];
  terminated: string[];
}

const ROUNDS = 3;

export async function stopClusterWorkflows(
  client: Client,
  cluster: string,
  opts: StopOptions = {},
): Promise<StopReport> {
  const log = opts.log ?? (() => undefined);
  const others = opts.otherClusters ?? [];
  const report: StopReport = { schedulesDeleted: [], cancelled: [], terminated: [] };
  for await (const s of client.schedule.list()) {
    if (!ownedByCluster(s.scheduleId, cluster, others)) continue;
    await client.schedule
      .getHandle(s.scheduleId)
      .delete()
      .catch((err: unknown) => {
        if (!(err instanceof ScheduleNotFoundError)) throw err; // deleted meanwhile
      });
    report.schedulesDeleted.push(s.scheduleId);
    log(`deleted schedule ${s.scheduleId}`);
  }
  for (let round = 0; round < ROUNDS; round++) {
    const running = await listRunningClusterWorkflows(client, cluster, others);
    if (!running.length) break;
    for (const w of running) {
      await ignoreNotFound(client.workflow.getHandle(w.workflowId, w.runId).cancel());
      report.cancelled.push(w.workflowId);
      log(`cancelling ${w.workflowId} (${w.type})`);
    }
    const stillRunning = await waitClosed(client, running, opts.cancelWaitMs ?? 10_000);
    for (const w of stillRunning) {
      await ignoreNotFound(
        client.workflow
          .getHandle(w.workflowId, w.runId)
          .terminate(`citusctl down: still running ${(opts.cancelWaitMs ?? 10_000) / 1000}s after cancel`),
      );
      report.terminated.push(w.workflowId);
      log(`terminated ${w.workflowId}: it did not close within the wait after cancel`);
    }
  }
  return report;
}

/** Polls until every workflow has closed or the wait is over; returns those still running. */
async function waitClosed(
  client: Client,
  workflows: WorkflowExecutionInfo[],
  waitMs: number,
): Promise<WorkflowExecutionInfo[]> {
  const deadline = Date.now() + waitMs;
  let pending = workflows;
  for (;;) {
    const next: WorkflowExecutionInfo[] = [];
    for (const w of pending) {
      const d = await client.workflow
        .getHandle(w.workflowId, w.runId)
        .describe()
        .catch((err: unknown) => {
          if (err instanceof WorkflowNotFoundError) return undefined;
          throw err;
        });
      if (d?.status.name === 'RUNNING') next.push(w);
    }
    pending = next;
    if (!pending.length || Date.now() >= deadline) return pending;
    await sleep(250);
  }
}

async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}
