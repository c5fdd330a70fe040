/**
 * Upgrading citusctl under a running cluster: `citusctl up` starts the cluster, the supervised
 * worker and the monitor on one build; then the same `up` runs with a build whose monitor changed
 * incompatibly (one more `sleep` at the top of its loop: a second workflow bundle, built from a
 * modified copy of the workflows, that the worker runs through CITUSCTL_WORKFLOW_BUNDLE). Before
 * per-build task queues this wedged the monitor for ever (a nondeterminism error at its next task).
 * Now: the old run ended, exactly one monitor runs, on the new build's queue, keeping its
 * maintenance; `status` names its build; and a worker primary killed afterwards is failed over.
 * Ports 31440-31448; embedded Temporal on 32441.
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { restartReason } from '../../common/monitor-handoff';
import { TASK_QUEUE, monitorTaskQueue } from '../../common/task-queues';
import { WORKFLOW_BUNDLE_ENV } from '../../worker/bundle-path';
import { writeChangedMonitorBundle } from '../workflow/changed-monitor';
import { ROOT, describeRun, layout, makeCluster, runCli, withMonitor } from './support/cluster';
import { monitorSeesOk, upClusterForFile } from './support/up-cluster';
import { cliJson, expectStreaming, killMember, waitFor, waitForNewPrimary } from './support/failover';

jest.setTimeout(15 * 60_000);

const c = withMonitor(
  makeCluster(
    {
      ...layout({
        name: 'it-upg',
        basePort: 31440,
        temporalPort: 32441,
        rows: 100,
        shardCount: 4,
        coordinatorStandby: false,
        workers: ['g1'],
      }),
      metrics: { port: 31447 },
    },
    32441,
  ),
);
const MONITOR = `monitor-${c.name}`;
const buildOf = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 16);

interface ControlPlaneJson {
  controlPlane: {
    worker: { build?: string };
    monitor: {
      running: boolean;
      build?: string;
      taskQueue?: string;
      polled?: boolean;
      maintenance?: { groups: string[] };
    };
  };
}

describe('upgrading citusctl under a running monitor', () => {
  let oldRun: { runId: string; taskQueue: string };
  const newBundle = path.join(c.dir, 'workflow-bundle-changed.js');
  const t = upClusterForFile(c, {
    alongsideUp: () => writeChangedMonitorBundle(newBundle),
    afterUp: async (t) => {
      const d = await t.client.workflow.getHandle(MONITOR).describe();
      oldRun = { runId: d.runId, taskQueue: d.taskQueue };
    },
    ready: { what: 'the monitor to probe the cluster', until: (t) => monitorSeesOk(t, 'g1') },
  });
  const { status } = t;

  it("the monitor runs on the first build's own queue; a maintenance pause is recorded", async () => {
    const first = buildOf(path.join(ROOT, 'dist', 'workflow-bundle.js'));
    expect(oldRun.taskQueue).toBe(monitorTaskQueue(first));
    expect(buildOf(newBundle)).not.toBe(first);
    const paused = await cliJson<{ maintenance: { groups: string[] } }>(c, [
      'pause',
      '--group',
      'coordinator',
      '--reason',
      'upgrade test',
    ]);
    expect(paused.maintenance.groups).toEqual(['coordinator']);
  });

  it('a changed monitor: after up the old run ended, one monitor runs on the new build, maintenance kept', async () => {
    c.env[WORKFLOW_BUNDLE_ENV] = newBundle;
    const r = await runCli(['up', '--json', '-c', c.specFile], c.env);
    if (r.code !== 0) throw new Error(`citusctl up on the new build failed: ${describeRun(r)}`);
    expect(r.stderr).toMatch(/the supervised worker runs an earlier build/);
    // Whoever came first handed it over: the new worker when it started polling, or `up` after the setup.
    const byUp = r.stderr.split('\n').filter((l) => /^monitor: monitor-it-upg (restart|move):/.test(l));
    const byWorker = fs
      .readFileSync(path.join(c.stateDir, 'worker', 'worker.log'), 'utf8')
      .split('\n')
      .filter((l) => /monitor-it-upg: (restart|move):/.test(l));
    console.log(
      '[upgrade] handed over by ' +
        `${byWorker.length ? `the new worker: ${byWorker.join('; ')}` : `citusctl up: ${byUp.join('; ')}`}`,
    );
    // Both may have acted when they raced (a second terminate of the same run is ignored, its start
    // attaches to the new run): what must hold is one hand-off at least and one monitor (below).
    expect(byUp.length + byWorker.length).toBeGreaterThanOrEqual(1);
    const target = monitorTaskQueue(buildOf(newBundle));

    const old = await t.client.workflow.getHandle(MONITOR, oldRun.runId).describe();
    expect(['TERMINATED', 'CONTINUED_AS_NEW']).toContain(old.status.name);
    if (old.status.name === 'TERMINATED') {
      const last = (await t.client.workflow.getHandle(MONITOR, oldRun.runId).fetchHistory()).events?.at(-1);
      expect(last?.workflowExecutionTerminatedEventAttributes?.reason).toBe(restartReason(buildOf(newBundle)));
    }
    const now = await t.client.workflow.getHandle(MONITOR).describe();
    expect(now).toMatchObject({ taskQueue: target, status: { name: 'RUNNING' } });
    let running = 0;
    for await (const w of t.client.workflow.list({
      query: `WorkflowId = '${MONITOR}' AND ExecutionStatus = 'Running'`,
    }))
      if (w.workflowId === MONITOR) running++;
    expect(running).toBe(1);

    // The new run works (no workflow task failing): it probes, and read its maintenance back. Started
    // with the cluster's name, its first run continues as new with the stored spec before it answers.
    const before = (
      await waitFor('the new run answers its status query', () => status().catch(() => undefined), 60_000, 500)
    ).lastProbeAt;
    await waitFor(
      'a probe of the new run',
      async () => {
        const s = await status();
        return s.lastProbeAt && s.lastProbeAt !== before && s.groups.g1?.primaryState === 'ok' ? s : undefined;
      },
      120_000,
      500,
    );
    expect((await status()).maintenance).toMatchObject({ groups: ['coordinator'], reason: 'upgrade test' });

    const st = await cliJson<ControlPlaneJson>(c, ['status']);
    expect(st.controlPlane.monitor).toMatchObject({
      running: true,
      build: buildOf(newBundle),
      taskQueue: target,
      polled: true,
    });
    expect(st.controlPlane.worker.build).toBe(buildOf(newBundle));
  });

  it('a worker primary killed after the upgrade is failed over by the monitor on the new build', async () => {
    await killMember(c, 'g1-a');
    try {
      await waitForNewPrimary(c, 'g1', 'g1-b', 90_000);
      const failover = t.client.workflow.getHandle(`failover-${c.name}-g1`);
      expect(await failover.result()).toMatchObject({ outcome: 'failed-over', newPrimary: 'g1-b' });
      expect((await failover.describe()).taskQueue).toBe(TASK_QUEUE);
      await expectStreaming(c, 'g1-a', 'g1-b');
    } catch (err) {
      throw await t.explain(err);
    }
    expect((await status()).lastActions.filter((a) => a.kind === 'failover').map((a) => a.outcome)).toEqual([
      'started',
      'done',
    ]);
  });
});
