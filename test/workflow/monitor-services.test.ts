/**
 * monitorCluster repairs PgBouncer and etcd, against a real Temporal dev server with the activities
 * acting on a simulated cluster (monitor-world.ts) and the real decisions: a stopped service is
 * started, a removed one re-created (PgBouncer told the coordinator primary after a failover);
 * etcd's repair does not wait for etcd, and a failover after it works; cluster maintenance holds
 * both until resumed.
 */
import type { FailoverGroupResult } from '../../workflows';
import { worldActivities } from './monitor-world';
import { sleep, waitUntil } from './runner';
import { useWorkflowEnv } from './workflow-env';
import { withMonitorRun, type MonitorRun } from './monitor-run';

jest.setTimeout(90_000);

const wf = useWorkflowEnv();

const withMonitor = (body: (t: MonitorRun) => Promise<void>) => withMonitorRun(wf, { prefix: 'msv' }, body);

const heals = (sim: ReturnType<typeof worldActivities>) =>
  sim.monitorCalls.filter((c) => c.name === 'healService').map((c) => c.input);

test('PgBouncer killed is started, removed is re-created pointing at the current coordinator primary', async () => {
  await withMonitor(async ({ world, status, sim, cluster }) => {
    world.services.pgbouncer = 'exited';
    await waitUntil('PgBouncer started', () => world.services.pgbouncer === 'running');
    expect(heals(sim)).toEqual([{ service: 'pgbouncer', coordinator: 'coord-a' }]);
    await waitUntil('the record', async () =>
      (await status()).lastActions.find((a) => a.kind === 'start-service' && a.outcome === 'done'),
    );

    world.kill('coord-a');
    await waitUntil('etcd to name coord-b', () => world.primaries.coordinator === 'coord-b');
    const r = (await wf.client.workflow.getHandle(`failover-${cluster}-coordinator`).result()) as FailoverGroupResult;
    expect(r).toMatchObject({ outcome: 'failed-over', newPrimary: 'coord-b' });
    await waitUntil(
      'the monitor to see coord-b',
      async () => (await status()).groups.coordinator?.primary === 'coord-b' || undefined,
    );
    world.services.pgbouncer = 'absent';
    await waitUntil('PgBouncer re-created', () => world.services.pgbouncer === 'running');
    expect(heals(sim).at(-1)).toEqual({ service: 'pgbouncer', coordinator: 'coord-b' });
    const s = await waitUntil('the record', async () =>
      (await status()).lastActions.find((a) => a.kind === 'recreate-service'),
    );
    expect(s).toMatchObject({
      target: 'pgbouncer',
      outcome: 'done',
      detail: expect.stringMatching(/container created \(PgBouncer -> coord-b/),
    });
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
    const r = (await wf.client.workflow.getHandle(`failover-${cluster}-g1`).result()) as FailoverGroupResult;
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
    await waitUntil(
      'the monitor to say why',
      async () => ((await status()).services?.notes.join(' ') ?? '').includes('maintenance') || undefined,
    );
    await sleep(500);
    expect(world.services.pgbouncer).toBe('exited');
    expect(heals(sim)).toEqual([]);
    await update('resume');
    await waitUntil('PgBouncer started', () => world.services.pgbouncer === 'running');
  });
});
