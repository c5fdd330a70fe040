/**
 * A monitor run for the workflow tests: monitorCluster on a fresh cluster name and task queue, with
 * the activities acting on a simulated cluster (monitor-world.ts). The body runs once the first
 * probe is in; the monitor is terminated after it, and failover children still running end on the
 * same worker.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { ClusterSpecInput } from '../../common/spec';
import type { MonitorInput, MonitorStatus } from '../../workflows';
import { SPEC_INPUT, uniqueClusterName, uniqueId } from './helpers';
import { World, worldActivities } from './monitor-world';
import { waitUntil } from './runner';
import type { WorkflowEnv } from './workflow-env';

/** Fast probes: every 50 ms, a failure needs 3 probes over 300 ms. */
export const FAST_TUNING: MonitorInput['tuning'] = {
  thresholds: {
    intervalMs: 50,
    failures: 3,
    failWindowMs: 300,
    downWindowMs: 100,
    standbyGraceMs: 1000,
    asyncAfterMs: 200,
  },
  periodMs: 1500,
};

export interface MonitorRun {
  cluster: string;
  world: World;
  sim: ReturnType<typeof worldActivities>;
  handle: WorkflowHandle;
  status: () => Promise<MonitorStatus>;
  /** Changes the stored spec, as a drain would (only with storedSpec). */
  storeSpec: (spec: ClusterSpecInput) => void;
  /** The monitor's pause or resume Update with an empty input (the whole cluster). */
  update: (name: 'pause' | 'resume') => Promise<unknown>;
}

export interface MonitorRunOptions {
  /** Prefix of the cluster name. */
  prefix: string;
  tuning?: MonitorInput['tuning'];
  /** The cluster's spec stored, as setup stores it (loadClusterSpec finds it). */
  storedSpec?: boolean;
  /** Fields over SPEC_INPUT's (hosts, backup). */
  specFields?: Partial<ClusterSpecInput>;
  /** Host queues (`citusctl-host-<h>`) a worker serves too. */
  hostQueues?: string[];
}

export async function withMonitorRun(
  wf: WorkflowEnv,
  opts: MonitorRunOptions,
  body: (run: MonitorRun) => Promise<void>,
): Promise<void> {
  const cluster = uniqueClusterName(opts.prefix);
  const spec = { ...SPEC_INPUT, ...opts.specFields, name: cluster };
  const world = new World(spec);
  const stored: Record<string, unknown> = { [cluster]: spec };
  const storeSpec = (s: ClusterSpecInput) => (stored[cluster] = s);
  const sim = worldActivities(world, spec, opts.storedSpec ? { stored } : {});
  const taskQueue = uniqueId('tq');
  const worker = await wf.worker(taskQueue, sim.activities);
  const hostWorkers = await Promise.all((opts.hostQueues ?? []).map((q) => wf.worker(q, sim.activities)));
  const workflowId = `monitor-${cluster}`;
  const runAll = (fn: () => Promise<void>) =>
    hostWorkers.reduce<() => Promise<void>>(
      (inner, w) => () => w.runUntil(inner()),
      () => worker.runUntil(fn),
    )();
  await runAll(async () => {
    const handle = await wf.client.workflow.start('monitorCluster', {
      taskQueue,
      workflowId,
      args: [{ spec, tuning: opts.tuning ?? FAST_TUNING } satisfies MonitorInput],
    });
    const status = () => wf.client.workflow.getHandle(workflowId).query<MonitorStatus>('status');
    try {
      await waitUntil('the first probe', async () => (await status()).lastProbeAt);
      await body({
        cluster,
        world,
        sim,
        handle,
        status,
        storeSpec,
        update: (name) => handle.executeUpdate(name, { args: [{}] }),
      });
    } finally {
      await wf.client.workflow
        .getHandle(workflowId)
        .terminate('test over')
        .catch(() => undefined);
    }
    // Children are abandoned on purpose: let any still running end on this worker.
    for (const g of ['coordinator', 'g1', 'g2'])
      await wf.client.workflow
        .getHandle(`failover-${cluster}-${g}`)
        .result()
        .catch(() => undefined);
  });
}
