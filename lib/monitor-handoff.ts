/**
 * Hands a running monitor (`monitor-<cluster>`) over to a build: called by every long-lived worker
 * once it polls (its own build) and by `citusctl up` (the CLI's build). The monitor never replays on
 * another build's code: it either continues as new on the target queue, asked by the `handOff`
 * Update while its old build still has a worker, or, when nobody runs its build any more, its run is
 * terminated with the reason and a new run starts on the target queue with the cluster's name (its
 * maintenance is read back from etcd; the failovers and rejoins it started are abandoned children
 * on the shared queue and go on). One workflow id, so never two monitors.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import {
  HAND_OFF_UPDATE,
  decideHandOff,
  livePollers,
  restartReason,
  type HandOffAction,
  type HandOffInput,
  type PollerSeen,
} from '../common/monitor-handoff';
import { buildOfMonitorQueue } from '../common/task-queues';
import { monitorWorkflowId } from '../common/workflow-ids';
import { pidAlive } from './supervised-worker-files';

/** How long the old build's worker gets to continue the monitor as new before its run is terminated. */
const MOVE_DEADLINE_MS = 5_000;
const CLOSE_WAIT_MS = 10_000;
/**
 * temporal.api.enums.v1 TaskQueueKind.NORMAL and TaskQueueType.WORKFLOW (@temporalio/proto is not a direct dependency).
 */
const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPE = { workflow: 1, activity: 2 } as const;

export interface HandOffReport {
  cluster: string;
  workflowId: string;
  action: HandOffAction;
  /** The queue the monitor ran on before (when it ran elsewhere). */
  from?: string;
  to: string;
  detail: string;
}

/**
 * The pollers Temporal lists on a queue's workflow tasks, or its activity tasks (a host's queue has
 * only those); dead workers' ones included, for minutes.
 */
export async function queuePollers(
  client: Client,
  taskQueue: string,
  type: keyof typeof TASK_QUEUE_TYPE = 'workflow',
): Promise<PollerSeen[]> {
  const r = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: TASK_QUEUE_KIND_NORMAL },
    taskQueueType: TASK_QUEUE_TYPE[type],
  });
  return (r.pollers ?? []).map((p) => ({
    identity: p.identity ?? undefined,
    lastAccessMs: optionalTsToMs(p.lastAccessTime),
  }));
}

/** A live worker polls the queue now (common/monitor-handoff.ts says what counts as live). */
export async function queuePolled(
  client: Client,
  taskQueue: string,
  type: keyof typeof TASK_QUEUE_TYPE = 'workflow',
): Promise<boolean> {
  return livePollers(await queuePollers(client, taskQueue, type), Date.now(), pidAlive).length > 0;
}

async function runningMonitor(
  client: Client,
  workflowId: string,
): Promise<{ taskQueue: string; runId: string } | undefined> {
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    return d.status.name === 'RUNNING' ? { taskQueue: d.taskQueue, runId: d.runId } : undefined;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

async function waitClosed(client: Client, workflowId: string, runId: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await client.workflow.getHandle(workflowId, runId).describe();
    if (d.status.name !== 'RUNNING') return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface HandOffOptions {
  cluster: string;
  /** The monitor queue of the build taking over. */
  target: string;
  /** A live worker polls `target` (true when the caller is that worker). */
  targetPolled: boolean;
  /** The monitor's input when none runs and one should (`up`); without it only a running monitor is moved. */
  startWith?: object;
}

/** Makes the cluster's monitor run on `target` when it should (see decideHandOff); idempotent, safe to race. */
export async function handOffMonitor(client: Client, o: HandOffOptions): Promise<HandOffReport> {
  const workflowId = monitorWorkflowId(o.cluster);
  const build = buildOfMonitorQueue(o.target) ?? o.target;
  const start = async (input: object) =>
    client.workflow.start('monitorCluster', {
      taskQueue: o.target,
      workflowId,
      args: [input],
      // Another process handing over at the same moment already started it: that one is the monitor.
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    });
  const report = (action: HandOffAction, detail: string, from?: string): HandOffReport => ({
    cluster: o.cluster,
    workflowId,
    action,
    ...(from ? { from } : {}),
    to: o.target,
    detail,
  });

  let moved: HandOffReport | undefined;
  // A few rounds: whatever another process did meanwhile, the next look sees it.
  for (let round = 0; round < 4; round++) {
    const running = await runningMonitor(client, workflowId);
    const currentPolled =
      running && running.taskQueue !== o.target ? await queuePolled(client, running.taskQueue) : false;
    const action = decideHandOff({
      running,
      target: o.target,
      targetPolled: o.targetPolled,
      currentPolled,
      startIfMissing: !!o.startWith,
    });
    switch (action) {
      case 'none':
        return moved ?? report('none', 'no monitor runs');
      case 'keep':
        return moved ?? report('keep', `runs on build ${build}`);
      case 'leave':
        return report(
          'leave',
          `runs on ${running!.taskQueue}, which a worker polls; no worker polls ${o.target} (build ${build}) ` +
            'yet: left where it is',
          running!.taskQueue,
        );
      case 'start':
        await start(o.startWith!);
        return moved ?? report('start', `started on build ${build}`);
      case 'move': {
        const { taskQueue: from, runId } = running!;
        const handle = client.workflow.getHandle(workflowId, runId);
        const input: HandOffInput = { taskQueue: o.target };
        const asked = await client
          .withDeadline(Date.now() + MOVE_DEADLINE_MS, () => handle.executeUpdate(HAND_OFF_UPDATE, { args: [input] }))
          .then(
            () => undefined,
            (err: Error) => err.message,
          );
        if (asked === undefined && (await waitClosed(client, workflowId, runId, CLOSE_WAIT_MS))) {
          moved = report('move', `continued as new from ${from} onto build ${build}`, from);
          continue; // the next look finds it on the target queue (or someone else's move)
        }
        await terminate(client, workflowId, runId, build);
        await start({ cluster: o.cluster });
        return report(
          'restart',
          `its build did not hand over (${asked ?? 'the run did not end'}): terminated, restarted on build ${build}`,
          from,
        );
      }
      case 'restart': {
        const { taskQueue: from, runId } = running!;
        await terminate(client, workflowId, runId, build);
        await start({ cluster: o.cluster });
        return report('restart', `no worker runs ${from} any more: terminated, restarted on build ${build}`, from);
      }
    }
  }
  return moved ?? report('keep', 'handed over by another process meanwhile');
}

/** Terminates exactly that run (never a newer one someone just started); a run already ended is fine. */
async function terminate(client: Client, workflowId: string, runId: string, build: string): Promise<void> {
  try {
    await client.workflow.getHandle(workflowId, runId).terminate(restartReason(build));
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}

/**
 * Every running monitor of these clusters onto `target` (none is
 * started); one report per cluster, failures reported, not thrown.
 */
export async function handOffMonitors(
  client: Client,
  clusters: string[],
  target: string,
  targetPolled = true,
): Promise<(HandOffReport | { cluster: string; error: string })[]> {
  const out: (HandOffReport | { cluster: string; error: string })[] = [];
  for (const cluster of clusters) {
    out.push(
      await handOffMonitor(client, { cluster, target, targetPolled }).catch((err: Error) => ({
        cluster,
        error: err.message,
      })),
    );
  }
  return out;
}
