/**
 * `up`'s ensureMonitor (client/monitor.ts) on a real Temporal dev server with the simulated cluster
 * of monitor-world.ts: one signal-with-start starts the monitor on this build's queue when none
 * runs, and otherwise tells the running one (same build) to reload the stored spec, keeping its run.
 * Moving a monitor of another build is lib/monitor-handoff.ts's, tested in monitor-handoff.test.ts.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { ensureMonitor } from '../../client/monitor';
import { parseSpec, type ClusterSpecInput } from '../../common/spec';
import { monitorTaskQueue } from '../../common/task-queues';
import type { MonitorStatus } from '../../workflows';
import { SPEC_INPUT, startTestEnv, uniqueId, workflowBundle } from './helpers';
import { World, worldActivities } from './monitor-world';

jest.setTimeout(120_000);

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  [env, bundle] = await Promise.all([startTestEnv(), workflowBundle()]);
});

afterAll(async () => {
  await env?.teardown();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Signals named `name` in the history of one run. */
async function signalsIn(workflowId: string, runId: string, name: string): Promise<number> {
  const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === name).length;
}

test(
  'starts the monitor on the build queue when none runs, then signals the running one to reload (same run), and ' +
    'starts again once it ended',
  async () => {
    const cluster = uniqueId('em')
      .slice(0, 24)
      .replace(/[^a-z0-9-]/g, '')
      .replace(/-$/, 'x');
    const input: ClusterSpecInput = { ...SPEC_INPUT, name: cluster };
    const spec = parseSpec(input);
    const sim = worldActivities(new World(input), input, { stored: { [cluster]: input } });
    const shared = uniqueId('tq');
    const target = monitorTaskQueue('aaaa', shared);
    const workers = await Promise.all(
      [shared, target].map((taskQueue) =>
        Worker.create({
          connection: env.nativeConnection,
          taskQueue,
          workflowBundle: bundle,
          activities: sim.activities,
        }),
      ),
    );
    const runs = workers.map((w) => w.run());
    const workflowId = `monitor-${cluster}`;
    const running = () =>
      env.client.workflow
        .getHandle(workflowId)
        .describe()
        .then((d) => (d.status.name === 'RUNNING' ? d : undefined));
    try {
      const first = await ensureMonitor(env.client, spec, target);
      expect(first).toMatchObject({ workflowId, action: 'start', to: target, started: true });
      // Started with the cluster's name, it continues as new once with the stored spec, then probes.
      await waitUntil(
        'the first probe',
        async () => (await env.client.workflow.getHandle(workflowId).query<MonitorStatus>('status')).lastProbeAt,
      );
      expect(await running()).toMatchObject({ taskQueue: target });

      const before = (await running())!.runId;
      const second = await ensureMonitor(env.client, spec, target);
      expect(second).toMatchObject({ workflowId, action: 'keep', started: false });
      expect(await signalsIn(workflowId, before, 'reloadSpec')).toBe(1);

      await env.client.workflow.getHandle(workflowId).terminate('the monitor ended');
      const third = await ensureMonitor(env.client, spec, target);
      expect(third).toMatchObject({ action: 'start', started: true });
      expect(await running()).toMatchObject({ taskQueue: target });
    } finally {
      await env.client.workflow
        .getHandle(workflowId)
        .terminate('test over')
        .catch(() => undefined);
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.all(runs);
    }
  },
);
