/**
 * Records the monitorCluster history used by monitor-replay.test.ts. Not a test itself; run it through jest:
 *
 *   RECORD_HISTORY=1 npx jest test/workflow/monitor-replay.test.ts --selectProjects workflow
 *
 * One whole run of the current monitor on a local dev server, on its build's queue with its children
 * on the shared queue (as the supervised worker runs it), against the simulated cluster of
 * monitor-world.ts: probes, a `pause` and a `resume` Update, a dead primary and the failover child
 * it starts (which completes and rejoins the old primary), more probes, then continue-as-new.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { History } from '@temporalio/common/lib/proto-utils';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TASK_QUEUE, monitorTaskQueue } from '../../common/task-queues';
import type { ClusterSpecInput } from '../../common/spec';
import type { MonitorInput, MonitorStatus } from '../../workflows';
import { FIXTURES, historyToJson } from './helpers';
import { World, worldActivities } from './monitor-world';
import { assertNoSecrets } from './record-history';

export const MONITOR_HISTORY_FIXTURE = path.join(FIXTURES, 'monitor-history.json');
/** A small cluster (each probe's history is in the fixture twice): a coordinator and two groups of two. */
const SPEC: ClusterSpecInput = {
  name: 'wfmon',
  workers: ['g1', 'g2'],
  members: [
    { name: 'coord-a', group: 'coordinator', port: 15432 },
    { name: 'g1-a', group: 'g1', port: 15434 },
    { name: 'g1-b', group: 'g1', port: 15435 },
    { name: 'g2-a', group: 'g2', port: 15437 },
    { name: 'g2-b', group: 'g2', port: 15438 },
  ],
};
export const MONITOR_FIXTURE_WORKFLOW_ID = `monitor-${SPEC.name}`;
/** The build queue the fixture was recorded on (any build: replay does not look at queues). */
export const MONITOR_FIXTURE_QUEUE = monitorTaskQueue('fixture');

/** Fast probes; the run continues as new after 20 probes once nothing is in flight. */
export const MONITOR_FIXTURE_INPUT: MonitorInput = {
  spec: SPEC,
  tuning: {
    thresholds: {
      intervalMs: 50,
      failures: 3,
      failWindowMs: 300,
      downWindowMs: 100,
      standbyGraceMs: 1000,
      asyncAfterMs: 200,
    },
    periodMs: 300,
    maxIterations: 20,
  },
};

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`recording: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function recordMonitorHistory(
  env: TestWorkflowEnvironment,
  bundle: WorkflowBundleWithSourceMap,
): Promise<{ history: History; json: string }> {
  const world = new World(SPEC);
  const sim = worldActivities(world, SPEC);
  const workers = await Promise.all(
    [TASK_QUEUE, MONITOR_FIXTURE_QUEUE].map((taskQueue) =>
      Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: bundle,
        activities: sim.activities,
        identity: 'citusctl-test-recorder',
      }),
    ),
  );
  const [shared, monitor] = workers;
  const handle = await env.client.workflow.start('monitorCluster', {
    taskQueue: MONITOR_FIXTURE_QUEUE,
    workflowId: MONITOR_FIXTURE_WORKFLOW_ID,
    args: [MONITOR_FIXTURE_INPUT],
  });
  const run = env.client.workflow.getHandle(MONITOR_FIXTURE_WORKFLOW_ID, handle.firstExecutionRunId);
  const status = () => run.query<MonitorStatus>('status');
  await shared!.runUntil(
    monitor!.runUntil(async () => {
      await until('the first probe', async () => !!(await status()).lastProbeAt);
      await run.executeUpdate('pause', { args: [{ group: 'g2', by: 'fixture', reason: 'recording' }] });
      await run.executeUpdate('resume', { args: [{ group: 'g2', by: 'fixture' }] });
      world.kill('g1-a');
      await until('the failover to complete', async () =>
        (await status()).lastActions.some((a) => a.kind === 'failover' && a.outcome === 'done'),
      );
      await until('the run to continue as new', async () => (await run.describe()).status.name === 'CONTINUED_AS_NEW');
      await env.client.workflow.getHandle(MONITOR_FIXTURE_WORKFLOW_ID).terminate('recorded');
    }),
  );
  const history = await run.fetchHistory();
  const json = historyToJson(history).replace(/"identity": "[^"]*"/g, '"identity": "citusctl-test-recorder"');
  assertNoSecrets(json);
  return { history, json };
}

export function writeMonitorFixture(json: string): void {
  fs.writeFileSync(MONITOR_HISTORY_FIXTURE, json);
}
