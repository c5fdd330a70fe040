/**
 * Handing the monitor over to another build (lib/monitor-handoff.ts) on a real Temporal dev server,
 * with the simulated cluster of monitor-world.ts. Each test has a shared queue and two builds'
 * monitor queues (`<shared>-monitor-aaaa`, `-bbbb`), each polled by its own worker, as the
 * supervised worker polls the shared queue and its build's one:
 *  - the old build's worker still runs: the monitor continues as new on the new queue, its
 *    maintenance carried, and heals from there (its failover child on the shared queue);
 *  - the old build's worker is gone: the run is terminated with the reason and a new one starts
 *    with the cluster's name; a failover in flight (waiting for approval) goes on and completes;
 *  - a worker gone so recently that Temporal still lists it: the Update times out, same outcome;
 *  - the Update refuses anything but another monitor queue.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { restartReason } from '../../common/monitor-handoff';
import type { ClusterSpecInput } from '../../common/spec';
import { monitorTaskQueue } from '../../common/task-queues';
import { handOffMonitor } from '../../lib/monitor-handoff';
import type { FailoverGroupResult, MonitorInput, MonitorStatus } from '../../workflows';
import { SPEC_INPUT, uniqueClusterName, uniqueId } from './helpers';
import { World, worldActivities } from './monitor-world';
import { FAST_TUNING } from './monitor-run';
import { sleep, waitUntil as pollUntil } from './runner';
import { useWorkflowEnv } from './workflow-env';

jest.setTimeout(120_000);

const wf = useWorkflowEnv();

/** A pid no process has: a worker identity naming it is a worker of this host that is gone. */
const GONE_PID = 2 ** 30;
/** Queries may fail while the monitor moves between runs and queues: that is "not yet". */
const waitUntil = <T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs?: number,
) => pollUntil(what, fn, timeoutMs, { retryErrors: true });

interface Setup {
  cluster: string;
  workflowId: string;
  shared: string;
  A: string;
  B: string;
  world: World;
  sim: ReturnType<typeof worldActivities>;
  /** The workers by queue; `stop(queue)` shuts one down (its build is gone). */
  stop(queue: string): Promise<void>;
  handle: WorkflowHandle;
  firstRunId: string;
  status(): Promise<MonitorStatus>;
}

/** A monitor started on build A's queue, with workers on the shared queue and both builds' queues. */
async function withBuilds(
  body: (s: Setup) => Promise<void>,
  opts: { identityA?: string; spec?: Partial<ClusterSpecInput> } = {},
) {
  const cluster = uniqueClusterName('ho');
  const spec: ClusterSpecInput = { ...SPEC_INPUT, ...opts.spec, name: cluster };
  const world = new World(spec);
  const sim = worldActivities(world, spec, { stored: { [cluster]: spec } });
  const shared = uniqueId('tq');
  const A = monitorTaskQueue('aaaa', shared);
  const B = monitorTaskQueue('bbbb', shared);
  const running = new Map<string, { worker: Worker; done: Promise<void> }>();
  for (const [taskQueue, identity] of [
    [shared, undefined],
    [A, opts.identityA],
    [B, undefined],
  ] as const) {
    const worker = await wf.worker(taskQueue, sim.activities, identity ? { identity } : {});
    running.set(taskQueue, { worker, done: worker.run() });
  }
  const stop = async (queue: string) => {
    const w = running.get(queue)!;
    if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
    await w.done;
  };
  const workflowId = `monitor-${cluster}`;
  const handle = await wf.client.workflow.start('monitorCluster', {
    taskQueue: A,
    workflowId,
    args: [{ spec, tuning: FAST_TUNING } satisfies MonitorInput],
  });
  const status = () => wf.client.workflow.getHandle(workflowId).query<MonitorStatus>('status');
  try {
    await waitUntil('the first probe', async () => (await status()).lastProbeAt);
    await body({
      cluster,
      workflowId,
      shared,
      A,
      B,
      world,
      sim,
      stop,
      handle,
      firstRunId: handle.firstExecutionRunId,
      status,
    });
  } finally {
    await wf.client.workflow
      .getHandle(workflowId)
      .terminate('test over')
      .catch(() => undefined);
    for (const g of ['coordinator', 'g1', 'g2'])
      await wf.client.workflow
        .getHandle(`failover-${cluster}-${g}`)
        .terminate('test over')
        .catch(() => undefined);
    for (const q of running.keys()) await stop(q);
  }
}

const runningMonitors = async (workflowId: string) => {
  let n = 0;
  for await (const w of wf.client.workflow.list({
    query: `WorkflowId = '${workflowId}' AND ExecutionStatus = 'Running'`,
  }))
    if (w.workflowId === workflowId) n++;
  return n;
};

test('the old build still runs: the monitor continues as new on the new build, keeps maintenance, heals', async () => {
  await withBuilds(async ({ cluster, workflowId, shared, A, B, world, sim, stop, handle, firstRunId, status }) => {
    await handle.executeUpdate('pause', { args: [{ group: 'g2', by: 'test', reason: 'upgrade' }] });

    const r = await handOffMonitor(wf.client, { cluster, target: B, targetPolled: true });
    expect(r).toMatchObject({ action: 'move', from: A, to: B });
    expect((await wf.client.workflow.getHandle(workflowId, firstRunId).describe()).status.name).toBe(
      'CONTINUED_AS_NEW',
    );
    const now = await wf.client.workflow.getHandle(workflowId).describe();
    expect(now).toMatchObject({ taskQueue: B, status: { name: 'RUNNING' } });
    // A second hand-off to the same build changes nothing.
    expect(await handOffMonitor(wf.client, { cluster, target: B, targetPolled: true })).toMatchObject({
      action: 'keep',
    });

    await stop(A); // build A is gone: whatever runs now runs on B
    await waitUntil('a probe of the new run', async () =>
      (await status()).runs === 2 && (await status()).lastProbeAt ? true : undefined,
    );
    expect((await status()).maintenance).toMatchObject({
      cluster: false,
      groups: ['g2'],
      by: 'test',
      reason: 'upgrade',
    });
    expect(sim.monitorCalls.filter((c) => c.name === 'readMaintenance')).toHaveLength(1); // carried, not read again

    world.kill('g1-a');
    const result = (await waitUntil(
      'the failover to end',
      () => wf.client.workflow.getHandle(`failover-${cluster}-g1`).result() as Promise<FailoverGroupResult>,
    )) as FailoverGroupResult;
    expect(result).toMatchObject({ outcome: 'failed-over', newPrimary: 'g1-b' });
    expect((await wf.client.workflow.getHandle(`failover-${cluster}-g1`).describe()).taskQueue).toBe(shared);
    world.kill('g2-a');
    await sleep(700);
    expect(sim.failoversStarted('g2')).toBe(0); // still paused
    expect(await runningMonitors(workflowId)).toBe(1);
  });
});

test('the old build is gone: its run is terminated, a new run on the new build takes over, failover ends', async () => {
  await withBuilds(
    async ({ cluster, workflowId, shared, A, B, world, stop, firstRunId, status }) => {
      world.kill('g1-a');
      const failover = wf.client.workflow.getHandle(`failover-${cluster}-g1`);
      // The monitor started the failover, which now waits for an approval.
      await waitUntil('the failover to wait for approval', async () =>
        (await failover.query<{ steps: { name: string; state: string }[] }>('progress')).steps.some(
          (s) => s.name === 'approval' && s.state === 'running',
        )
          ? true
          : undefined,
      );
      await stop(A);

      // Two processes at once (the new worker starting, and `up`): one terminates, both end with the same new run.
      const [r, twin] = await Promise.all([
        handOffMonitor(wf.client, { cluster, target: B, targetPolled: true }),
        handOffMonitor(wf.client, { cluster, target: B, targetPolled: true }),
      ]);
      expect(r).toMatchObject({ action: 'restart', from: A, to: B });
      expect(['restart', 'keep']).toContain(twin.action);
      const old = await wf.client.workflow.getHandle(workflowId, firstRunId).fetchHistory();
      expect(old.events?.at(-1)?.workflowExecutionTerminatedEventAttributes?.reason).toBe(restartReason('bbbb'));
      expect((await wf.client.workflow.getHandle(workflowId).describe()).taskQueue).toBe(B);
      await waitUntil('the new run to probe', async () => ((await status()).lastProbeAt ? true : undefined));
      expect(await runningMonitors(workflowId)).toBe(1);

      // The failover went on without its parent; approved, it completes on the shared queue.
      expect((await failover.describe()).status.name).toBe('RUNNING');
      await failover.executeUpdate('approve', { args: [{ approver: 'test', approve: true }] });
      expect(await failover.result()).toMatchObject({ outcome: 'failed-over', newPrimary: 'g1-b' });
      expect((await failover.describe()).taskQueue).toBe(shared);
      await waitUntil('the new monitor to see g1 on g1-b', async () =>
        (await status()).groups.g1?.primary === 'g1-b' && (await status()).groups.g1?.primaryState === 'ok'
          ? true
          : undefined,
      );
    },
    { identityA: `citusctl-worker@${GONE_PID}`, spec: { failover: 'approve' } },
  );
});

test('a worker gone so recently that Temporal lists it: the Update gets no answer, the run is restarted', async () => {
  await withBuilds(async ({ cluster, workflowId, A, B, stop, firstRunId, status }) => {
    await stop(A);
    const r = await handOffMonitor(wf.client, { cluster, target: B, targetPolled: true });
    expect(r).toMatchObject({ action: 'restart', from: A, to: B });
    expect(r.detail).toMatch(/did not hand over/);
    expect((await wf.client.workflow.getHandle(workflowId, firstRunId).describe()).status.name).toBe('TERMINATED');
    await waitUntil('the new run to probe', async () => ((await status()).lastProbeAt ? true : undefined));
    expect((await wf.client.workflow.getHandle(workflowId).describe()).taskQueue).toBe(B);
  });
});

test('the handOff Update takes only another monitor queue', async () => {
  await withBuilds(async ({ handle, A }) => {
    const refused = (taskQueue: string) =>
      handle.executeUpdate('handOff', { args: [{ taskQueue }] }).then(
        () => 'accepted',
        (e: { cause?: { message?: string } }) => e.cause?.message,
      );
    expect(await refused('citusctl')).toMatch(/not a monitor task queue/);
    expect(await refused(A)).toMatch(/already runs on/);
    expect((await handle.describe()).status.name).toBe('RUNNING');
  });
});
