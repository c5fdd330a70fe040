/**
 * monitorCluster repairs PgBouncer and etcd, against a real Temporal dev server with the activities
 * acting on a simulated cluster (monitor-world.ts) and the real decisions: a stopped service is
 * started, a removed one re-created (PgBouncer told the coordinator primary after a failover);
 * etcd's repair does not wait for etcd, and a failover after it works; cluster maintenance holds
 * both until resumed.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { FailoverGroupResult, MonitorInput, MonitorStatus } from '../../workflows';
import { SPEC_INPUT, startTestEnv, uniqueId, workflowBundle } from './helpers';
import { World, worldActivities } from './monitor-world';

jest.setTimeout(90_000);

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  [env, bundle] = await Promise.all([startTestEnv(), workflowBundle()]);
});

afterAll(async () => {
  await env?.teardown();
});

const TUNING: MonitorInput['tuning'] = { thresholds: { intervalMs: 50, failures: 3, failWindowMs: 300, downWindowMs: 100, standbyGraceMs: 1000, asyncAfterMs: 200 }, periodMs: 1500 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function withMonitor(body: (t: { world: World; status: () => Promise<MonitorStatus>; sim: ReturnType<typeof worldActivities>; cluster: string; update: (name: 'pause' | 'resume') => Promise<unknown> }) => Promise<void>) {
  const cluster = uniqueId('msv').slice(0, 24).replace(/[^a-z0-9-]/g, '').replace(/-$/, 'x');
  const spec = { ...SPEC_INPUT, name: cluster };
  const world = new World(spec);
  const sim = worldActivities(world, spec);
  const taskQueue = uniqueId('tq');
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities: sim.activities });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start('monitorCluster', { taskQueue, workflowId: `monitor-${cluster}`, args: [{ spec, tuning: TUNING } satisfies MonitorInput] });
    const status = () => handle.query<MonitorStatus>('status');
    try {
      await waitUntil('the first probe', async () => (await status()).lastProbeAt);
      await body({ world, status, sim, cluster, update: (name) => handle.executeUpdate(name, { args: [{}] }) });
    } finally {
      await handle.terminate('test over').catch(() => undefined);
    }
    for (const g of ['coordinator', 'g1', 'g2']) await env.client.workflow.getHandle(`failover-${cluster}-${g}`).result().catch(() => undefined);
  });
}

const heals = (sim: ReturnType<typeof worldActivities>) => sim.monitorCalls.filter((c) => c.name === 'healService').map((c) => c.input);

test('PgBouncer killed is started, removed is re-created pointing at the current coordinator primary', async () => {
  await withMonitor(async ({ world, status, sim, cluster }) => {
    world.services.pgbouncer = 'exited';
    await waitUntil('PgBouncer started', () => world.services.pgbouncer === 'running');
    expect(heals(sim)).toEqual([{ service: 'pgbouncer', coordinator: 'coord-a' }]);
    await waitUntil('the record', async () => (await status()).lastActions.find((a) => a.kind === 'start-service' && a.outcome === 'done'));

    world.kill('coord-a');
    await waitUntil('etcd to name coord-b', () => world.primaries.coordinator === 'coord-b');
    const r = (await env.client.workflow.getHandle(`failover-${cluster}-coordinator`).result()) as FailoverGroupResult;
    expect(r).toMatchObject({ outcome: 'failed-over', newPrimary: 'coord-b' });
    await waitUntil('the monitor to see coord-b', async () => (await status()).groups.coordinator?.primary === 'coord-b' || undefined);
    world.services.pgbouncer = 'absent';
    await waitUntil('PgBouncer re-created', () => world.services.pgbouncer === 'running');
    expect(heals(sim).at(-1)).toEqual({ service: 'pgbouncer', coordinator: 'coord-b' });
    const s = await waitUntil('the record', async () => (await status()).lastActions.find((a) => a.kind === 'recreate-service'));
    expect(s).toMatchObject({ target: 'pgbouncer', outcome: 'done', detail: expect.stringMatching(/container created \(PgBouncer -> coord-b/) });
  });
});

test('etcd killed is started without waiting for etcd, and the next failover works', async () => {
  await withMonitor(async ({ world, status, sim, cluster }) => {
    world.services.etcd = 'exited';
    await waitUntil('etcd started', () => world.services.etcd === 'running');
    expect(heals(sim)).toEqual([{ service: 'etcd', coordinator: undefined }]);
    await waitUntil('the monitor to see etcd', async () => (await status()).etcdOk === true || undefined);
    world.kill('g1-a');
    await waitUntil('etcd to name a new g1 primary', () => world.primaries.g1 !== 'g1-a');
    const r = (await env.client.workflow.getHandle(`failover-${cluster}-g1`).result()) as FailoverGroupResult;
    expect(r).toMatchObject({ outcome: 'failed-over', oldPrimary: 'g1-a' });
    world.services.etcd = 'absent';
    await waitUntil('etcd re-created', () => world.services.etcd === 'running');
    expect(heals(sim).at(-1)).toMatchObject({ service: 'etcd' });
  });
});

test('cluster maintenance holds the repair; resume heals', async () => {
  await withMonitor(async ({ world, status, sim, update }) => {
    await update('pause');
    world.services.pgbouncer = 'exited';
    await waitUntil('the monitor to say why', async () => ((await status()).services?.notes.join(' ') ?? '').includes('maintenance') || undefined);
    await sleep(500);
    expect(world.services.pgbouncer).toBe('exited');
    expect(heals(sim)).toEqual([]);
    await update('resume');
    await waitUntil('PgBouncer started', () => world.services.pgbouncer === 'running');
  });
});
