/**
 * A worker process died: its supervisor knows at once (the child's exit), Temporal does not. Left
 * alone, Temporal finds out through timeouts: an activity the dead worker ran is retried after its
 * heartbeat timeout, a workflow task queued for the dead worker's cache (its sticky queue) moves on
 * after the sticky-queue timeout. The supervisor tells Temporal instead, for the workflows on the
 * dead worker's task queues (and their running children, which visibility may not list yet):
 *  - their sticky queue is reset: their next workflow task goes to the shared queue, which the
 *    standby polls by now;
 *  - each activity attempt the dead worker had started is failed as retryable (WorkerLost), so
 *    Temporal retries it at once; an attempt asked to cancel is reported cancelled.
 * Only attempts started by the dead process are touched (by its identity, which carries its pid):
 * a process that exited runs nothing, so no step is left running twice. Best effort: whatever is
 * missed here, the timeouts still catch (common/takeover.ts).
 * `later` names workflows to leave for a second call (their children are still followed): the
 * supervisor hands the monitor back a few seconds after the failover it started, whose steps would
 * otherwise share the new worker's CPU with the replay of the monitor's long history. `done`
 * collects the runs handed back, which a second call leaves alone.
 */
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../common/error-types';

/** temporal.api.enums.v1.PendingActivityState */
const STARTED = 2;
const CANCEL_REQUESTED = 3;

export interface ReapReport {
  workflows: number;
  stickyReset: number;
  /** `<workflowId> <activityType>#<attempt>` of each attempt handed back. */
  activities: string[];
  errors: string[];
}

interface Run {
  workflowId: string;
  runId: string;
}

const quote = (s: string) => `'${s.replace(/'/g, "\\'")}'`;

export interface ReapOptions {
  later?: (workflowType: string) => boolean;
  done?: Set<string>;
}

export async function reapDeadWorker(
  client: Client,
  dead: { identity: string; taskQueues: string[] },
  opts: ReapOptions = {},
): Promise<ReapReport> {
  const report: ReapReport = { workflows: 0, stickyReset: 0, activities: [], errors: [] };
  const note = (what: string) => (err: unknown) => void report.errors.push(`${what}: ${(err as Error).message}`);
  const seen = new Set<string>();
  const pending: Run[] = [];
  const add = (r: Run) => {
    const key = `${r.workflowId}/${r.runId}`;
    if (seen.has(key)) return;
    seen.add(key);
    pending.push(r);
  };
  const queues = dead.taskQueues.map((q) => `TaskQueue = ${quote(q)}`).join(' OR ');
  try {
    for await (const w of client.workflow.list({ query: `ExecutionStatus = 'Running' AND (${queues})` }))
      add({ workflowId: w.workflowId, runId: w.runId });
  } catch (err) {
    note('listing running workflows')(err);
  }
  const namespace = client.options.namespace;
  while (pending.length) {
    const batch = pending.splice(0);
    await Promise.all(
      batch.map(async (run) => {
        const d = await client.workflow
          .getHandle(run.workflowId, run.runId)
          .describe()
          .catch(note(`describing ${run.workflowId}`));
        if (!d) return;
        for (const c of d.raw.pendingChildren ?? [])
          if (c.workflowId && c.runId) add({ workflowId: c.workflowId, runId: c.runId });
        const key = `${run.workflowId}/${run.runId}`;
        if (opts.done?.has(key) || opts.later?.(d.type)) return;
        opts.done?.add(key);
        report.workflows++;
        await client.workflowService
          .resetStickyTaskQueue({ namespace, execution: run })
          .then(() => void report.stickyReset++)
          .catch(note(`resetting the sticky queue of ${run.workflowId}`));
        for (const a of d.raw.pendingActivities ?? []) {
          if (a.lastWorkerIdentity !== dead.identity || !a.activityId) continue;
          const id = { workflowId: run.workflowId, runId: run.runId, activityId: a.activityId };
          const label = `${run.workflowId} ${a.activityType?.name ?? '?'}#${a.attempt ?? '?'}`;
          const state = Number(a.state);
          if (state === STARTED) {
            const failure = ApplicationFailure.create({
              type: ErrorTypes.WorkerLost,
              message: `the worker running it (${dead.identity}) died`,
              nonRetryable: false,
            });
            await client.activity
              .fail(id, failure)
              .then(() => void report.activities.push(label), note(`handing back ${label}`));
          } else if (state === CANCEL_REQUESTED) {
            await client.activity
              .reportCancellation(id)
              .then(() => void report.activities.push(`${label} (cancelled)`), note(`cancelling ${label}`));
          }
        }
      }),
    );
  }
  return report;
}

export const describeReap = (r: ReapReport): string =>
  `${r.workflows} running workflow(s), ${r.stickyReset} sticky queue(s) reset, ` +
  `${r.activities.length ? `attempts handed back: ${r.activities.join(', ')}` : 'no attempt to hand back'}` +
  `${r.errors.length ? `; errors: ${r.errors.join('; ')}` : ''}`;
