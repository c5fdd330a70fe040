/**
 * monitorCluster against a real Temporal dev server, with the activities acting on a simulated
 * cluster (monitor-world.ts) and the real decisions: a dead primary starts exactly one failover
 * (a child workflow that runs to the end and rejoins the old primary); a primary paused for less
 * than T, or paused longer while its standbys stay connected, starts none; maintenance holds and
 * resume heals; a dead standby is restarted and the group's commit goes async and back;
 * continue-as-new keeps the paused state.
 */
import type { FailoverGroupResult } from '../../workflows';
import { SPEC_INPUT } from './helpers';
import { mockActivities } from './mock-activities';
import { sleep, waitUntil } from './runner';
import { useWorkflowEnv } from './workflow-env';
import { FAST_TUNING, withMonitorRun, type MonitorRun } from './monitor-run';

jest.setTimeout(90_000);

const wf = useWorkflowEnv();

const TUNING = FAST_TUNING;

/** The message of an Update's rejection (the validator's, carried as the cause). */
const updateError = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: { cause?: { message?: string }; message?: string }) => e.cause?.message ?? e.message ?? String(e),
  );

/**
 * The cluster is set up (its spec stored, as setup stores it); `storeSpec` changes the stored spec as a drain would.
 */
const withMonitor = (body: (t: MonitorRun) => Promise<void>, tuning = TUNING) =>
  withMonitorRun(wf, { prefix: 'mon', tuning, storedSpec: true }, body);

test('a dead primary starts exactly one failover, which promotes a synchronous standby, rejoins the old', async () => {
  await withMonitor(async ({ world, status, sim, cluster }) => {
    world.kill('g1-a');
    await waitUntil('etcd to name a new g1 primary', () => world.primaries.g1 !== 'g1-a');
    const result = (await wf.client.workflow.getHandle(`failover-${cluster}-g1`).result()) as FailoverGroupResult;
    expect(result).toMatchObject({ outcome: 'failed-over', oldPrimary: 'g1-a', newPrimary: 'g1-b' });
    expect(world.members['g1-a']).toMatchObject({ container: 'running', role: 'standby', follows: 'g1-b' });
    // The monitor sees the group healthy again; still one failover, none for the other groups.
    await waitUntil(
      'g1 healthy in status',
      async () =>
        ((await status()).groups.g1?.primaryState === 'ok' && (await status()).groups.g1?.primary === 'g1-b') ||
        undefined,
    );
    await sleep(1000);
    expect(sim.failoversStarted('g1')).toBe(1);
    expect(sim.failoversStarted('g2') + sim.failoversStarted('coordinator')).toBe(0);
    const s = await status();
    expect(s.lastActions.filter((a) => a.kind === 'failover').map((a) => a.outcome)).toEqual(['started', 'done']);
    expect(s.lastActions.find((a) => a.kind === 'failover')?.detail).toMatch(
      /^failover-.*-g1: .*Docker: container exited/,
    );
    expect(s.inFlight.failovers).toEqual({});
    // The failover was told which standbys were synchronous at the fault.
    const child = await wf.client.workflow.getHandle(`failover-${cluster}-g1`).fetchHistory();
    const started = JSON.stringify(
      child.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.map((p) =>
        Buffer.from(p.data!).toString('utf8'),
      ),
    );
    expect(started).toContain('\\"candidates\\":[\\"g1-b\\",\\"g1-c\\"]');
  });
});

test('a primary paused for less than T, or longer while its standbys stay connected, is not failed over', async () => {
  await withMonitor(async ({ world, status, sim }) => {
    const pause = async (ms: number) => {
      Object.assign(world.members['g1-a']!, { container: 'paused', up: false });
      await sleep(ms);
      Object.assign(world.members['g1-a']!, { container: 'running', up: true });
    };
    await pause(200); // < failWindowMs (300)
    // Longer than T: N failed probes, but Docker says the container still exists (paused) and the
    // standbys' WAL receivers keep their connection: not confirmed from the second viewpoint.
    Object.assign(world.members['g1-a']!, { container: 'paused', up: false });
    await waitUntil(
      'the monitor to suspect g1-a',
      async () => (await status()).groups.g1?.primaryState === 'suspect' || undefined,
    );
    await sleep(1500);
    expect((await status()).groups.g1?.notes.join(' ')).toMatch(/not confirmed: container paused/);
    Object.assign(world.members['g1-a']!, { container: 'running', up: true });
    await waitUntil('g1 ok again', async () => (await status()).groups.g1?.primaryState === 'ok' || undefined);
    expect(sim.failoversStarted('g1')).toBe(0);
    expect(world.primaries.g1).toBe('g1-a');
  });
});

test('maintenance holds (no failover of a dead primary), resume heals', async () => {
  await withMonitor(async ({ world, handle, status, sim, cluster }) => {
    const m = await handle.executeUpdate('pause', { args: [{ by: 'test', reason: 'upgrade' }] });
    expect(m).toMatchObject({ cluster: true, groups: [], by: 'test', reason: 'upgrade' });
    expect(world.maintenance).toMatchObject({ cluster: true });
    expect(await updateError(handle.executeUpdate('pause', { args: [{ group: 'nope' }] }))).toMatch(
      /unknown group nope/,
    );

    world.kill('g2-a');
    await waitUntil(
      'the monitor to see g2-a failed',
      async () => (await status()).groups.g2?.primaryState === 'failed' || undefined,
    );
    await sleep(1000);
    expect((await status()).groups.g2?.notes.join(' ')).toMatch(/maintenance \(cluster paused\): no automatic action/);
    expect(sim.failoversStarted('g2')).toBe(0);
    expect(world.primaries.g2).toBe('g2-a');

    expect(await updateError(handle.executeUpdate('resume', { args: [{ group: 'g2' }] }))).toMatch(
      /whole cluster is paused/,
    );
    expect(await handle.executeUpdate('resume', { args: [{}] })).toMatchObject({ cluster: false, groups: [] });
    await waitUntil('g2 failed over after resume', () => world.primaries.g2 === 'g2-b' || undefined);
    await wf.client.workflow.getHandle(`failover-${cluster}-g2`).result();
    expect(sim.failoversStarted('g2')).toBe(1);
    expect(world.members['g2-a']).toMatchObject({ role: 'standby', follows: 'g2-b' });
  });
});

test('synchronous commit never blocks forever: async while the standby is down, sync when it streams', async () => {
  await withMonitor(
    async ({ world, sim }) => {
      Object.assign(world.members['g2-b']!, { up: false }); // g2's only standby stops answering (its container runs)
      await waitUntil('g2 switched to async commit', () => world.syncNames.g2 === '' || undefined);
      Object.assign(world.members['g2-b']!, { up: true });
      await waitUntil('g2 back to synchronous with g2-b', () => world.syncNames.g2 === 'ANY 1 ("g2-b")' || undefined);
      const durability = sim.monitorCalls
        .filter((c) => c.name === 'setGroupDurability')
        .map((c) => JSON.stringify(c.input));
      expect(durability).toEqual(['{"group":"g2","mode":"async"}', '{"group":"g2","mode":"synchronous"}']);

      world.kill('g1-c');
      await waitUntil('g1-c restarted', () => world.members['g1-c']!.container === 'running' || undefined);
      expect(sim.monitorCalls.filter((c) => c.name === 'restartMember').map((c) => c.input)).toEqual(['g1-c']);
      Object.assign(world.members['g2-b']!, { container: 'absent', up: false }); // docker rm -f
      await waitUntil('g2-b re-created', () => world.members['g2-b']!.container === 'running' || undefined);
      expect(sim.monitorCalls.filter((c) => c.name === 'recreateMember').map((c) => c.input)).toEqual(['g2-b']);
      expect(sim.failoversStarted('g1') + sim.failoversStarted('g2')).toBe(0);
      expect(sim.failover.called('rejoinMember')).toHaveLength(0); // within the grace: no rejoin
    },
    { ...TUNING, thresholds: { ...TUNING!.thresholds, standbyGraceMs: 60_000 } },
  );
});

test('continue-as-new keeps the paused state and the monitor keeps watching', async () => {
  await withMonitor(
    async ({ world, handle, status, sim }) => {
      await handle.executeUpdate('pause', { args: [{ group: 'g2' }] });
      const firstRun = (await handle.describe()).runId;
      await waitUntil('two continue-as-new', async () => ((await status()).runs >= 3 ? true : undefined));
      const s = await status();
      expect(s.maintenance).toMatchObject({ cluster: false, groups: ['g2'] });
      expect((await wf.client.workflow.getHandle(handle.workflowId).describe()).runId).not.toBe(firstRun);
      world.kill('g2-a');
      await waitUntil(
        'the new run to see g2-a failed',
        async () => (await status()).groups.g2?.primaryState === 'failed' || undefined,
      );
      await sleep(500);
      expect(sim.failoversStarted('g2')).toBe(0);
      // Only the first run read etcd; later runs got it from the carry.
      expect(sim.monitorCalls.filter((c) => c.name === 'readMaintenance')).toHaveLength(1);
    },
    { ...TUNING, periodMs: 200, maxIterations: 3 },
  );
});

test('reloadSpec (a group drained away): the monitor continues as new with the stored spec, without it', async () => {
  await withMonitor(async ({ world, handle, status, sim, cluster, storeSpec }) => {
    expect(Object.keys((await status()).groups).sort()).toEqual(['coordinator', 'g1', 'g2']);
    const runs = (await status()).runs;
    // The drain stores the spec without g2, then tells the monitor.
    storeSpec({
      ...SPEC_INPUT,
      name: cluster,
      workers: ['g1'],
      members: SPEC_INPUT.members!.filter((m) => m.group !== 'g2'),
    });
    await handle.signal('reloadSpec');
    await waitUntil('the next run', async () => ((await status()).runs > runs ? true : undefined));
    await waitUntil('a probe of the new run', async () =>
      (await status()).lastProbeAt && Object.keys((await status()).groups).length === 2 ? true : undefined,
    );
    expect(Object.keys((await status()).groups).sort()).toEqual(['coordinator', 'g1']);
    // g2's primary dies (its containers go with the drain): nothing is done about it.
    world.kill('g2-a');
    await sleep(700);
    expect(sim.failoversStarted('g2')).toBe(0);
    expect((await status()).groups.g2).toBeUndefined();
  }, TUNING);
});

test('failoverGroup with candidates promotes only one of them, and refuses when none is left', async () => {
  const lagging = {
    positions: {
      'g1-b': { replayLsn: '0/5000000', receiveLsn: '0/5000000' },
      'g1-c': { replayLsn: '0/3000000', receiveLsn: '0/3000000' },
    },
  };
  const only = mockActivities({}, lagging);
  const r1 = await wf.run<FailoverGroupResult>(
    'failoverGroup',
    { spec: SPEC_INPUT, group: 'g1', candidates: ['g1-c'] },
    only.activities,
  );
  expect(r1.result).toMatchObject({ outcome: 'failed-over', newPrimary: 'g1-c' });
  expect(only.inputs('standbyPositions')[0]!.members).toEqual(['g1-c']);

  const none = mockActivities({}, lagging);
  const r2 = await wf.run<FailoverGroupResult>(
    'failoverGroup',
    { spec: SPEC_INPUT, group: 'g1', candidates: [] },
    none.activities,
  );
  expect(r2.result).toMatchObject({ outcome: 'no-candidate' });
  expect(r2.result!.detail).toMatch(/no standby was synchronous when g1-a failed.*nothing was changed/);
  expect(none.called('fenceMember')).toHaveLength(0);
});

test('a lost promotion answer: the old primary stays fenced, no other failover, it ends once it answers', async () => {
  await withMonitor(async ({ world, status, sim, cluster }) => {
    const writable = () =>
      Object.entries(world.members)
        .filter(([n, m]) => m.group === 'g1' && m.role === 'primary' && world.answers(n))
        .map(([n]) => n);
    let split = false;
    const watch = setInterval(() => (split ||= writable().length > 1), 20);
    try {
      world.promotionAnswerLost = 'g1-b';
      world.kill('g1-a');
      const first = await waitUntil('the first failover to end', async () =>
        (await status()).lastActions.find((a) => a.kind === 'failover' && a.outcome !== 'started'),
      );
      expect(first).toMatchObject({
        outcome: 'failed',
        detail: expect.stringMatching(
          /^needs-operator: g1-a stays fenced: g1-b could not be promoted .*g1-b cannot be reached/,
        ),
      });
      expect(world.members['g1-a']).toMatchObject({ state: 'fenced', container: 'exited' });
      // g1-b is writable but unreachable: no second failover (it could promote g1-c), whatever the backoff.
      await sleep(12_000);
      expect(sim.failoversStarted('g1')).toBe(1);
      expect((await status()).groups.g1?.notes.join(' ')).toMatch(
        /needs operator: g1-a is fenced by a failover that did not finish and g1-b cannot be reached/,
      );
      // g1-b answers (writable): the monitor fails over again, onto it.
      world.members['g1-b']!.up = true;
      await waitUntil('etcd to name g1-b', () => world.primaries.g1 === 'g1-b', 40_000);
      const result = (await wf.client.workflow.getHandle(`failover-${cluster}-g1`).result()) as FailoverGroupResult;
      expect(result).toMatchObject({ outcome: 'failed-over', newPrimary: 'g1-b' });
      expect(sim.failoversStarted('g1')).toBe(2);
      expect(world.members['g1-c']).toMatchObject({ role: 'standby' });
    } finally {
      clearInterval(watch);
    }
    expect(split).toBe(false);
  });
});
