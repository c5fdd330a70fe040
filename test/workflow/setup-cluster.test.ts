/**
 * setupCluster against a real Temporal dev server with mocked activities: order, progress query,
 * clean-up, failure handling, retries, standby pairing after a failover, and queries mid-step.
 */
import { ActivityFailure, ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { Progress } from '../../common/progress';
import { slotName } from '../../common/topology';
import { SETUP_STEPS, type SetupClusterInput, type SetupClusterResult } from '../../workflows';
import { realValidateSpec, SPEC_INPUT } from './helpers';
import { mockActivities, type MockedActivities } from './mock-activities';
import { sequence, stateOf, step } from './runner';
import { useWorkflowEnv } from './workflow-env';

jest.setTimeout(60_000);

const wf = useWorkflowEnv();

/** Runs setupCluster on a fresh task queue with the given activities; `during` runs while the worker is up. */
const runSetup = (
  activities: Partial<MockedActivities>,
  input: SetupClusterInput = { spec: SPEC_INPUT },
  during?: (handle: WorkflowHandle) => Promise<void>,
) => wf.run<SetupClusterResult>('setupCluster', input, activities, during);

/**
 * Up to registration, one after another (loadClusterSpec: a cluster of that name set up with another spec? none here).
 */
const prefixOrder = [
  'validateSpec',
  'loadClusterSpec',
  'refuseDroppedGroups',
  'resolveImages',
  'provisionCluster',
  'storeClusterSpec',
  'readLivePrimaries',
  'waitForNodes',
  'prepareNode',
  'registerNodes',
];
/** Every worker holds shards on a fresh cluster: the scale-out rebalance is skipped. */
const REBALANCE_STEPS = ['rebalance-check', 'rebalance', 'moves'];
/** After registration two chains run side by side (patch setup-concurrent-standbys), each in order. */
const dataChain = ['distributeDemoTable', 'loadDemoData', 'checkShards', 'initPgBouncer'];
const standbyChain = ['followPrimary', 'checkReplication', 'configureDurability'];
const happyOrder = [...prefixOrder, ...dataChain, ...standbyChain, 'ensureBackupStanzas', 'publishToEtcd'];

/** The prefix in order, then each chain in order (interleaved in any way), the backup stanzas, publishToEtcd last. */
function expectSetupOrder(calls: { name: string }[], prefix = prefixOrder): void {
  const order = sequence(calls.filter((c) => !dataChain.includes(c.name) && !standbyChain.includes(c.name)));
  expect(order).toEqual([...prefix, 'ensureBackupStanzas', 'publishToEtcd']);
  expect(sequence(calls.filter((c) => dataChain.includes(c.name)))).toEqual(dataChain);
  expect(sequence(calls.filter((c) => standbyChain.includes(c.name)))).toEqual(standbyChain);
  const names = calls.map((c) => c.name);
  const lastOfPrefix = names.lastIndexOf('registerNodes');
  expect(names.slice(0, lastOfPrefix).some((n) => dataChain.includes(n) || standbyChain.includes(n))).toBe(false);
}

test('happy path: every step in order, progress all done with clean-up skipped, and the result', async () => {
  const m = mockActivities();
  const { result, error, progress } = await runSetup(m.activities);
  expect(error).toBeUndefined();

  expectSetupOrder(m.calls);
  expect(new Set(m.calls.map((c) => c.name))).toEqual(new Set(happyOrder));
  expect(m.called('cleanUp')).toHaveLength(0);
  expect(m.calls.every((c) => c.attempt === 1)).toBe(true);
  // validateSpec gets the raw input; everything after it gets the parsed spec with defaults.
  expect(m.called('validateSpec')[0]!.input).toEqual(SPEC_INPUT);
  expect((m.called('provisionCluster')[0]!.input as { pgbouncer: unknown }).pgbouncer).toEqual({
    port: 6432,
    poolMode: 'transaction',
    maxClientConn: 10_000,
    poolSize: 20,
    processes: 1,
  });
  expect(
    m
      .called('prepareNode')
      .map((c) => (c.input as { member: string }).member)
      .sort(),
  ).toEqual(['coord-a', 'g1-a', 'g2-a']);
  expect((m.called('waitForNodes')[0]!.input as { primaries: string[] }).primaries).toEqual([
    'coord-a',
    'g1-a',
    'g2-a',
  ]);

  expect(progress.workflow).toBe('setupCluster');
  expect(progress.steps.map((s) => s.name)).toEqual([...SETUP_STEPS]);
  expect(stateOf(progress)).toEqual(
    Object.fromEntries(
      SETUP_STEPS.map((s) => [s, s === 'clean-up' || REBALANCE_STEPS.includes(s) ? 'skipped' : 'done']),
    ),
  );
  for (const s of REBALANCE_STEPS) expect(step(progress, s).detail).toBe('every worker holds shards');
  expect(step(progress, 'clean-up').detail).toBe('not requested');
  expect(step(progress, 'validate').detail).toBe('cluster wftest: 7 members, 2 worker groups');
  expect(step(progress, 'standby-follow').detail).toBe('4 seeded, 4 standbys');
  expect(step(progress, 'replication-check').detail).toBe('4/4 streaming (synchronous)');
  for (const s of progress.steps) {
    expect(typeof s.endedAt).toBe('number');
    if (s.state === 'done') expect(s.endedAt!).toBeGreaterThanOrEqual(s.startedAt!);
  }

  // The result carries the final progress too: the same steps the query answered.
  expect(stateOf(result!.progress!)).toEqual(stateOf(progress));
  expect({ ...result, progress: undefined }).toEqual({
    progress: undefined,
    cluster: 'wftest',
    images: {
      postgres: 'citusdata/citus:13.0',
      pgbouncer: 'edoburu/pgbouncer:v1.23.1-p3',
      etcd: 'quay.io/coreos/etcd:v3.5.21',
    },
    primaries: { coordinator: 'coord-a', workers: { g1: 'g1-a', g2: 'g2-a' } },
    workersAdded: ['g1-a', 'g2-a'],
    demoRowsInserted: 1000,
    demoRowsThroughPgBouncer: 1000,
    shards: {
      perWorker: { 'g1-a': { placements: 4, tablesPresent: 4 }, 'g2-a': { placements: 4, tablesPresent: 4 } },
      shardCount: 8,
    },
    replication: [
      {
        standby: 'coord-b',
        primary: 'coord-a',
        slot: 'citusctl_coord_b',
        state: 'streaming',
        lagBytes: 0,
        synchronous: true,
      },
      { standby: 'g1-b', primary: 'g1-a', slot: 'citusctl_g1_b', state: 'streaming', lagBytes: 0, synchronous: true },
      { standby: 'g1-c', primary: 'g1-a', slot: 'citusctl_g1_c', state: 'streaming', lagBytes: 0, synchronous: true },
      { standby: 'g2-b', primary: 'g2-a', slot: 'citusctl_g2_b', state: 'streaming', lagBytes: 0, synchronous: true },
    ],
  });
});

test(
  'a standby that already carries another member state is rebuilt (rejoinMember) before the replication check; ' +
    'the others follow as they are',
  async () => {
    const m = mockActivities({
      async followPrimary({ standby }) {
        if (standby === 'g1-b') return { seeded: false, slot: slotName(standby), existingState: 'fenced' as const };
        if (standby === 'g1-c') return { seeded: false, slot: slotName(standby), existingState: 'standby' as const };
        return { seeded: true, slot: slotName(standby) };
      },
    });
    const { error, progress } = await runSetup(m.activities);
    expect(error).toBeUndefined();
    expect(m.inputs('rejoinMember').map((i) => `${i.member}->${i.primary}`)).toEqual(['g1-b->g1-a']);
    const names = m.calls.map((c) => c.name);
    expect(names.indexOf('rejoinMember')).toBeLessThan(names.indexOf('checkReplication'));
    expect(step(progress, 'standby-follow').detail).toBe('2 seeded, 4 standbys');
  },
);

test.each([false, true])(
  'clean: true runs cleanUp after readiness and before registration (force: %s)',
  async (force) => {
    const m = mockActivities();
    const { error, progress } = await runSetup(m.activities, { spec: SPEC_INPUT, clean: true, force });
    expect(error).toBeUndefined();
    const afterReadiness = prefixOrder.indexOf('waitForNodes') + 1;
    expectSetupOrder(m.calls, [
      ...prefixOrder.slice(0, afterReadiness),
      'cleanUp',
      ...prefixOrder.slice(afterReadiness),
    ]);
    expect(m.called('cleanUp')).toHaveLength(1);
    expect(m.called('cleanUp')[0]!.input).toMatchObject({ force, primaries: { coordinator: 'coord-a' } });
    expect(step(progress, 'clean-up')).toMatchObject({ state: 'done', detail: 'dropped events' });
    expect(progress.steps.every((s) => s.state === 'done' || REBALANCE_STEPS.includes(s.name))).toBe(true);
  },
);

/** checkShards as on a cluster a group was just added to: g2-a registered after distribution, no shards yet. */
const newGroupEmpty =
  (m: { called: (n: 'checkShards') => unknown[] }) =>
  async ({ primaries }: { primaries: { workers: Record<string, string> } }) => {
    const rebalanced = m.called('checkShards').length > 1; // the second check runs after the rebalance
    const perWorker = Object.fromEntries(
      Object.values(primaries.workers).map((w) => [
        w,
        { placements: w === 'g2-a' && !rebalanced ? 0 : 4, tablesPresent: w === 'g2-a' && !rebalanced ? 0 : 4 },
      ]),
    );
    return { perWorker, shardCount: 8 };
  };

test('scale-out: a worker without shards gets them from a followed rebalance (job, moves, progress)', async () => {
  const m: ReturnType<typeof mockActivities> = mockActivities(
    { checkShards: (i) => newGroupEmpty(m)(i) },
    {
      rebalanceJobs: [
        [
          { state: 'running', movesDone: 1, movesTotal: 3 },
          { state: 'running', movesDone: 2, movesTotal: 3 },
          { state: 'finished', movesDone: 3, movesTotal: 3, bytesMoved: 3 * 1024 * 1024, bytesTotal: 3 * 1024 * 1024 },
        ],
      ],
    },
  );
  const { result, error, progress } = await runSetup(m.activities);
  expect(error).toBeUndefined();
  // The first shard check lets the new worker be empty; the rebalance comes after publish, then a strict check.
  expect(m.inputs('checkShards').map((i) => i.allowEmpty ?? false)).toEqual([true, false]);
  const names = m.calls.map((c) => c.name);
  expect(names.indexOf('checkRebalanceReady')).toBeGreaterThan(names.indexOf('publishToEtcd'));
  expect(
    sequence(m.calls.filter((c) => ['checkRebalanceReady', 'startRebalance', 'followRebalance'].includes(c.name))),
  ).toEqual(['checkRebalanceReady', 'startRebalance', 'followRebalance']);
  expect(m.called('followRebalance')).toHaveLength(3);
  // each call reports over the last
  expect(m.inputs('followRebalance').map((i) => i.previous?.movesDone)).toEqual([undefined, 1, 2]);
  expect(m.inputs('startRebalance')[0]).toMatchObject({ drainOnly: false, transferMode: 'auto' });
  expect(stateOf(progress)).toMatchObject({ 'rebalance-check': 'done', rebalance: 'done', moves: 'done' });
  expect(step(progress, 'rebalance-check').detail).toBe('g2-a hold no shards');
  expect(step(progress, 'rebalance').detail).toBe('started job 1');
  expect(step(progress, 'moves').detail).toBe('job 1 finished: 3/3 moves, 3.0/3.0 MB');
  expect(result!.rebalance).toEqual({ jobs: [1], movesDone: 3, bytesMoved: 3 * 1024 * 1024 });
  expect(result!.shards.perWorker['g2-a']).toEqual({ placements: 4, tablesPresent: 4 });
});

test('scale-out with rebalance: false leaves the new worker empty and says how to rebalance later', async () => {
  const m: ReturnType<typeof mockActivities> = mockActivities({ checkShards: (i) => newGroupEmpty(m)(i) });
  const { result, error, progress } = await runSetup(m.activities, { spec: SPEC_INPUT, rebalance: false });
  expect(error).toBeUndefined();
  expect(m.called('startRebalance')).toHaveLength(0);
  expect(stateOf(progress)).toMatchObject({ 'rebalance-check': 'skipped', rebalance: 'skipped', moves: 'skipped' });
  expect(step(progress, 'rebalance').detail).toBe('not requested (g2-a hold no shards: citusctl rebalance)');
  expect(result!.rebalance).toBeUndefined();
});

test('a spec leaving out a group still in Citus is refused in validate, before anything is provisioned', async () => {
  const m = mockActivities({
    async refuseDroppedGroups() {
      throw ApplicationFailure.create({
        type: 'Refused',
        message:
          'up refused, nothing was changed: the spec leaves out g3 (Citus node g3-a, 5 shard placements); run ' +
          '`citusctl drain g3` first',
        nonRetryable: true,
      });
    },
  });
  const { error, progress } = await runSetup(m.activities);
  expect(error).toBeInstanceOf(WorkflowFailedError);
  expect(sequence(m.calls)).toEqual(['validateSpec', 'loadClusterSpec', 'refuseDroppedGroups']);
  expect(step(progress, 'validate')).toMatchObject({
    state: 'failed',
    detail: expect.stringContaining('citusctl drain g3'),
  });
});

test('a non-retryable failure (BadConfig from validateSpec) fails workflow and step, runs nothing after', async () => {
  const m = mockActivities({
    async validateSpec() {
      throw ApplicationFailure.create({
        type: 'BadConfig',
        message: 'invalid cluster spec: name is bad',
        nonRetryable: true,
      });
    },
  });
  const { error, progress, handle } = await runSetup(m.activities);

  expect(error).toBeInstanceOf(WorkflowFailedError);
  const activityFailure = (error as WorkflowFailedError).cause;
  expect(activityFailure).toBeInstanceOf(ActivityFailure);
  expect((activityFailure as ActivityFailure).activityType).toBe('validateSpec');
  expect(activityFailure!.cause).toBeInstanceOf(ApplicationFailure);
  expect(activityFailure!.cause).toMatchObject({ type: 'BadConfig', nonRetryable: true });

  expect(m.calls.map((c) => c.name)).toEqual(['validateSpec']); // attempted once, never retried
  expect(m.activities.provisionCluster).not.toHaveBeenCalled();
  expect(step(progress, 'validate')).toMatchObject({ state: 'failed', detail: 'invalid cluster spec: name is bad' });
  expect(progress.steps.slice(1).every((s) => s.state === 'pending')).toBe(true);

  // And the server agrees: only validateSpec was ever scheduled.
  const history = await handle.fetchHistory();
  const scheduled = history.events!.flatMap((e) =>
    e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType!.name] : [],
  );
  expect(scheduled).toEqual(['validateSpec']);
});

test('a bad spec is refused by the workflow, listing the problems, before any activity; validateSpec too', async () => {
  const real = realValidateSpec();
  const m = mockActivities({ validateSpec: real.validateSpec });
  const bad = { ...SPEC_INPUT, name: 'Bad_Name', colour: 'blue' };
  const { error, progress } = await runSetup(m.activities, { spec: bad as never });
  const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
  expect(cause).toMatchObject({ type: 'BadConfig', nonRetryable: true });
  expect(cause.details).toEqual([
    {
      problems: expect.arrayContaining([
        expect.stringMatching(/^spec\.name: /),
        expect.stringMatching(/^spec: unknown key\(s\) "colour"/),
      ]),
    },
  ]);
  expect(m.calls).toEqual([]);
  expect(step(progress, 'validate').state).toBe('failed');
  expect(step(progress, 'validate').detail).toMatch(/^invalid input of setupCluster: /);
  // The activity (run by whoever calls it directly) still refuses it as BadConfig, with the same problems.
  await expect(real.validateSpec(bad)).rejects.toMatchObject({
    type: 'BadConfig',
    nonRetryable: true,
    details: [{ problems: expect.arrayContaining([expect.stringMatching(/^name: /)]) }],
  });
});

test('a non-retryable failure mid-run stops there: later steps stay pending, their activities never run', async () => {
  const m = mockActivities({
    async distributeDemoTable() {
      throw ApplicationFailure.create({
        type: 'ImageIncapable',
        message: 'citus extension missing',
        nonRetryable: true,
      });
    },
  });
  const { error, progress } = await runSetup(m.activities);
  expect(error).toBeInstanceOf(WorkflowFailedError);
  // The data chain stops there; the standby chain beside it runs to its end before the workflow fails.
  expect(sequence(m.calls.filter((c) => !standbyChain.includes(c.name)))).toEqual([
    ...prefixOrder,
    'distributeDemoTable',
  ]);
  expect(sequence(m.calls.filter((c) => standbyChain.includes(c.name)))).toEqual(standbyChain);
  expect(stateOf(progress)).toMatchObject({
    registration: 'done',
    distribution: 'failed',
    'data-load': 'pending',
    'shard-check': 'pending',
    pgbouncer: 'pending',
    'replication-check': 'done',
    publish: 'pending',
  });
  expect(step(progress, 'distribution').detail).toBe('citus extension missing');
});

test('a retryable failure (throws twice, then succeeds) is retried by Temporal, the workflow completes', async () => {
  const m = mockActivities({
    async waitForNodes() {
      if (m.called('waitForNodes').length <= 2)
        throw ApplicationFailure.retryable('node coord-a is starting up', 'NotReady');
    },
  });
  const { result, error, progress } = await runSetup(m.activities);
  expect(error).toBeUndefined();
  expect(result!.cluster).toBe('wftest');
  expect(m.called('waitForNodes').map((c) => c.attempt)).toEqual([1, 2, 3]);
  expect(m.called('readLivePrimaries')).toHaveLength(1); // only the failing activity is retried, not the step
  expectSetupOrder(m.calls);
  expect(
    progress.steps.every((s) => s.state === 'done' || s.name === 'clean-up' || REBALANCE_STEPS.includes(s.name)),
  ).toBe(true);
});

test('standby pairs follow the LIVE primaries from readLivePrimaries (after a failover the second leads)', async () => {
  const live = { coordinator: 'coord-b', workers: { g1: 'g1-b', g2: 'g2-a' } };
  const m = mockActivities({
    async readLivePrimaries() {
      return live;
    },
  });
  const { result, error } = await runSetup(m.activities);
  expect(error).toBeUndefined();

  const pairs = (name: keyof MockedActivities) =>
    m.called(name).map((c) => {
      const { primary, standby } = c.input as { primary: string; standby: string };
      return `${standby}->${primary}`;
    });
  const expected = ['coord-a->coord-b', 'g1-a->g1-b', 'g1-c->g1-b', 'g2-b->g2-a'];
  expect(pairs('followPrimary').sort()).toEqual(expected);
  expect(pairs('checkReplication').sort()).toEqual(expected);
  // No member follows itself, and no live primary is demoted.
  expect(
    m
      .called('followPrimary')
      .every((c) => !['coord-b', 'g1-b', 'g2-a'].includes((c.input as { standby: string }).standby)),
  ).toBe(true);

  const durability = m.called('configureDurability').map((c) => c.input as { primary: string; standbys: string[] });
  expect(durability.map((d) => `${d.primary}:${d.standbys.join('+')}`).sort()).toEqual([
    'coord-b:coord-a',
    'g1-b:g1-a+g1-c',
    'g2-a:g2-b',
  ]);
  expect(
    m
      .called('prepareNode')
      .map((c) => (c.input as { member: string }).member)
      .sort(),
  ).toEqual(['coord-b', 'g1-b', 'g2-a']);
  expect((m.called('initPgBouncer')[0]!.input as { coordinator: string }).coordinator).toBe('coord-b');
  expect(m.called('publishToEtcd')[0]!.input).toMatchObject({ primaries: live });
  expect(result!.primaries).toEqual(live);
  expect(result!.replication.map((r) => `${r.standby}->${r.primary}`)).toEqual(expected);
});

test('the progress query answers while an activity is blocked', async () => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const blocked = new Promise<void>((r) => (entered = r));
  const m = mockActivities({
    async loadDemoData({ spec }) {
      entered();
      await released;
      return { inserted: spec.demo.rows, total: spec.demo.rows };
    },
  });

  let during: Progress | undefined;
  let shardChecksWhileBlocked = -1;
  const { error, progress } = await runSetup(m.activities, { spec: SPEC_INPUT }, async (handle) => {
    await blocked;
    during = await handle.query<Progress>('progress');
    // Asked twice while blocked: the answer is stable and the activity is still in flight.
    expect(await handle.query<Progress>('progress')).toEqual(during);
    shardChecksWhileBlocked = m.called('checkShards').length;
    release();
  });
  expect(error).toBeUndefined();
  expect(stateOf(during!)).toEqual({
    validate: 'done',
    images: 'done',
    provision: 'done',
    readiness: 'done',
    'clean-up': 'skipped',
    registration: 'done',
    distribution: 'done',
    'data-load': 'running',
    'shard-check': 'pending',
    'standby-follow': expect.stringMatching(/^(running|done)$/), // beside the load (patch setup-concurrent-standbys)
    'replication-check': expect.stringMatching(/^(pending|running|done)$/),
    pgbouncer: 'pending',
    'backup-stanzas': 'pending',
    publish: 'pending',
    'rebalance-check': 'pending',
    rebalance: 'pending',
    moves: 'pending',
  });
  expect(step(during!, 'data-load').startedAt).toEqual(expect.any(Number));
  expect(step(during!, 'data-load').endedAt).toBeUndefined();
  expect(shardChecksWhileBlocked).toBe(0); // nothing ran past the blocked step meanwhile
  expect(step(progress, 'data-load')).toMatchObject({ state: 'done', detail: '1000 inserted, 1000 rows' });
});
