/**
 * rebalanceCluster and drainGroup against a real Temporal dev server with mocked activities: the
 * followed job (adopted, restarted after a failed job, never a second job after a crashed follow),
 * Citus's errors in the failure, the drain's order (checks before any change, removal under the
 * group's lock, the stored spec without the group) and its refusals.
 */
import { ApplicationFailure } from '@temporalio/client';
import type { ClusterSpec } from '../../common/spec';
import { DRAIN_STEPS, type DrainGroupResult, type RebalanceClusterResult } from '../../workflows';
import { MAX_RESTARTS } from '../../workflows/followed-rebalance';
import { SPEC_INPUT } from './helpers';
import { mockActivities, type MockedActivities } from './mock-activities';
import { failureOf, sequence, stateOf, step, waitUntil } from './runner';
import { useWorkflowEnv } from './workflow-env';

jest.setTimeout(90_000);

const wf = useWorkflowEnv();

const rebalance = (activities: Partial<MockedActivities>, input: object = { spec: SPEC_INPUT }) =>
  wf.run<RebalanceClusterResult>('rebalanceCluster', input, activities);
const drain = (activities: Partial<MockedActivities>, input: object = { spec: SPEC_INPUT, group: 'g2' }) =>
  wf.run<DrainGroupResult>('drainGroup', input, activities);

const CITUS_ERROR =
  'ERROR: shard move failed as the orphaned shard public.events_102025 leftover from the previous move could ' +
  'not be cleaned up';

describe('rebalanceCluster', () => {
  test('checks, starts one job and follows it to its end, reporting each step of it', async () => {
    const m = mockActivities(
      {},
      {
        rebalanceJobs: [
          [
            { state: 'scheduled', movesTotal: 2 },
            {
              state: 'running',
              movesDone: 1,
              current: [
                {
                  shardId: 102009,
                  table: 'events',
                  source: 'g1-a',
                  target: 'g3-a',
                  status: 'Catching Up',
                  bytes: 0,
                  targetBytes: 0,
                },
              ],
            },
            { state: 'finished', movesDone: 2 },
          ],
        ],
      },
    );
    const { result, error, progress } = await rebalance(m.activities, {
      spec: SPEC_INPUT,
      transferMode: 'block_writes',
    });
    expect(error).toBeUndefined();
    expect(sequence(m.calls)).toEqual([
      'validateSpec',
      'loadClusterSpec',
      'checkRebalanceReady',
      'startRebalance',
      'followRebalance',
    ]);
    expect(m.called('followRebalance').map((c) => (c.input as { jobId: number }).jobId)).toEqual([1, 1, 1]);
    expect(m.inputs('checkRebalanceReady')[0]!.transferMode).toBe('block_writes');
    expect(m.inputs('startRebalance')[0]).toMatchObject({ drainOnly: false, transferMode: 'block_writes' });
    expect(stateOf(progress)).toEqual({ validate: 'done', check: 'done', start: 'done', moves: 'done' });
    expect(step(progress, 'moves').detail).toBe('job 1 finished: 2/2 moves');
    expect(result).toMatchObject({ cluster: 'wftest', jobs: [1], movesDone: 2, restarts: 0 });
  });

  test('balanced: no job, the moves step is skipped', async () => {
    const m = mockActivities({}, { rebalanceJobs: [] });
    const { result, error, progress } = await rebalance(m.activities);
    expect(error).toBeUndefined();
    expect(m.called('followRebalance')).toHaveLength(0);
    expect(step(progress, 'start').detail).toBe('nothing to move (balanced)');
    expect(step(progress, 'moves')).toMatchObject({ state: 'skipped', detail: 'nothing to move' });
    expect(result).toMatchObject({ jobs: [], movesDone: 0 });
  });

  test('a job Citus already runs is adopted, not started again', async () => {
    const m = mockActivities(
      {
        async startRebalance() {
          return { jobId: 7, adopted: true };
        },
      },
      { rebalanceJobs: [[], [], [], [], [], [], [{ state: 'finished', movesDone: 2 }]] },
    );
    const { result, error, progress } = await rebalance(m.activities);
    expect(error).toBeUndefined();
    expect(step(progress, 'start').detail).toBe('following running job 7');
    expect(result!.jobs).toEqual([7]);
  });

  test('a follow that dies (its worker crashed) is retried on the same job; no second job is started', async () => {
    let failures = 0;
    const m: ReturnType<typeof mockActivities> = mockActivities({
      async followRebalance(input) {
        if (failures++ === 0) throw ApplicationFailure.retryable('worker lost', 'NotReady');
        return {
          jobId: input.jobId,
          state: 'finished',
          tasks: { done: 2 },
          movesDone: 2,
          movesTotal: 2,
          bytesTotal: 0,
          bytesMoved: 0,
          current: [],
          errors: [],
        };
      },
    });
    const { result, error } = await rebalance(m.activities);
    expect(error).toBeUndefined();
    expect(m.called('startRebalance')).toHaveLength(1);
    expect(m.called('followRebalance').map((c) => [(c.input as { jobId: number }).jobId, c.attempt])).toEqual([
      [1, 1],
      [1, 2],
    ]);
    expect(result!.jobs).toEqual([1]);
  });

  test('a failed job is started again; the rest of the moves finish', async () => {
    const m = mockActivities(
      {},
      {
        rebalanceJobs: [
          [{ state: 'failed', movesDone: 1, errors: [`task 2: ${CITUS_ERROR}`] }],
          [{ state: 'finished', movesDone: 1, movesTotal: 1 }],
        ],
      },
    );
    const { result, error, progress } = await rebalance(m.activities);
    expect(error).toBeUndefined();
    expect(m.called('startRebalance')).toHaveLength(2);
    expect(result).toMatchObject({ jobs: [1, 2], restarts: 1 });
    expect(step(progress, 'start').detail).toBe(`started job 2 (restart 1 of ${MAX_RESTARTS})`);
    expect(step(progress, 'moves')).toMatchObject({ state: 'done', detail: 'job 2 finished: 1/1 moves' });
  });

  test("a job that keeps failing fails the workflow with Citus's error, after the restarts", async () => {
    const failed = { state: 'failed' as const, errors: [`task 2: ${CITUS_ERROR}`] };
    const m = mockActivities({}, { rebalanceJobs: Array.from({ length: MAX_RESTARTS + 1 }, () => [failed]) });
    const { error, progress } = await rebalance(m.activities);
    const f = failureOf(error);
    expect(f.type).toBe('RebalanceFailed');
    expect(f.message).toContain(CITUS_ERROR);
    expect(m.called('startRebalance')).toHaveLength(MAX_RESTARTS + 1);
    expect(step(progress, 'moves')).toMatchObject({ state: 'failed', detail: expect.stringContaining(CITUS_ERROR) });
  });

  test('a job someone cancelled in Citus is not restarted: the workflow fails saying so', async () => {
    const m = mockActivities({}, { rebalanceJobs: [[{ state: 'cancelled', movesDone: 1 }], [{ state: 'finished' }]] });
    const { error } = await rebalance(m.activities);
    expect(failureOf(error).message).toMatch(/rebalance job 1 was cancelled in Citus .*citusctl rebalance continues/);
    expect(m.called('startRebalance')).toHaveLength(1);
  });

  test('cancelling the workflow cancels the Citus job it follows', async () => {
    const m: ReturnType<typeof mockActivities> = mockActivities({
      async followRebalance({ jobId }) {
        await new Promise((r) => setTimeout(r, 200));
        return {
          jobId,
          state: 'running',
          tasks: {},
          movesDone: 0,
          movesTotal: 2,
          bytesTotal: 0,
          bytesMoved: 0,
          current: [],
          errors: [],
        };
      },
    });
    const { error } = await wf.run<RebalanceClusterResult>(
      'rebalanceCluster',
      { spec: SPEC_INPUT },
      m.activities,
      async (handle) => {
        await waitUntil('a second followRebalance', () => m.called('followRebalance').length >= 2, 15_000);
        await handle.cancel();
      },
    );
    expect(error).toBeDefined();
    expect(m.inputs('stopRebalance')).toEqual([expect.objectContaining({ jobId: 1 })]);
  });

  test('a refused check (tables without a replica identity) starts nothing', async () => {
    const m = mockActivities({
      async checkRebalanceReady() {
        throw ApplicationFailure.create({
          type: 'Refused',
          message:
            'rebalance refused, nothing was moved: tables without a primary key or replica identity: public.nopk',
          nonRetryable: true,
        });
      },
    });
    const { error, progress } = await rebalance(m.activities);
    expect(failureOf(error).type).toBe('Refused');
    expect(m.called('startRebalance')).toHaveLength(0);
    expect(stateOf(progress)).toMatchObject({ check: 'failed', start: 'pending', moves: 'pending' });
  });

  test('an unknown transfer mode is a BadConfig before any activity', async () => {
    const m = mockActivities();
    const { error } = await rebalance(m.activities, { spec: SPEC_INPUT, transferMode: 'fast' });
    expect(failureOf(error).type).toBe('BadConfig');
    expect(m.calls).toHaveLength(0);
  });
});

describe('drainGroup', () => {
  test('checks, marks, drains, then under the lock verifies, stores the spec, removes the group and keys', async () => {
    const m = mockActivities();
    const { result, error, progress } = await drain(m.activities, { spec: SPEC_INPUT, group: 'g2', volumes: true });
    expect(error).toBeUndefined();
    expect(sequence(m.calls.filter((c) => c.name !== 'renewGroupLock'))).toEqual([
      'validateSpec',
      'loadClusterSpec',
      'readLivePrimaries',
      'checkDrain',
      'markDraining',
      'startRebalance',
      'followRebalance',
      'acquireGroupLock',
      'readLivePrimaries',
      'verifyDrained',
      'storeClusterSpec',
      'removeWorkerNode',
      'removeGroupContainers',
      'releaseGroupLock',
      'forgetGroup',
    ]);
    expect(m.inputs('startRebalance')[0]).toMatchObject({ drainOnly: true });
    const stored = m.called('storeClusterSpec')[0]!.input as ClusterSpec;
    expect(stored.workers).toEqual(['g1']);
    expect(stored.members.map((x) => x.name)).toEqual(['coord-a', 'coord-b', 'g1-a', 'g1-b', 'g1-c']);
    expect(m.inputs('removeGroupContainers')[0]).toMatchObject({ group: 'g2', volumes: true });
    expect(stateOf(progress)).toEqual(Object.fromEntries(DRAIN_STEPS.map((s) => [s, 'done'])));
    expect(result).toMatchObject({
      cluster: 'wftest',
      group: 'g2',
      jobs: [1],
      movesDone: 2,
      removedContainers: ['citusctl-wftest-g2-a', 'citusctl-wftest-g2-b'],
      deletedKeys: 3,
    });
  });

  test('refused by its checks (last group, disk): nothing is marked, moved or removed', async () => {
    const m = mockActivities({
      async checkDrain() {
        throw ApplicationFailure.create({
          type: 'Refused',
          message: 'drain of g2 refused, nothing was changed: g2 is the last worker group that can hold shards',
          nonRetryable: true,
        });
      },
    });
    const { error, progress } = await drain(m.activities);
    expect(failureOf(error).message).toContain('last worker group');
    expect(sequence(m.calls)).toEqual(['validateSpec', 'loadClusterSpec', 'readLivePrimaries', 'checkDrain']);
    expect(stateOf(progress)).toMatchObject({
      check: 'failed',
      mark: 'pending',
      lock: 'pending',
      containers: 'pending',
    });
  });

  test('a rerun after the node was removed only finishes the clean-up', async () => {
    const m = mockActivities({
      async checkDrain() {
        return { removed: true, placements: 0, bytesToMove: 0 };
      },
    });
    const { error, progress } = await drain(m.activities);
    expect(error).toBeUndefined();
    expect(m.called('markDraining')).toHaveLength(0);
    expect(m.called('startRebalance')).toHaveLength(0);
    expect(m.called('removeGroupContainers')).toHaveLength(1);
    expect(step(progress, 'moves')).toMatchObject({ state: 'skipped', detail: 'removed by an earlier run' });
  });

  test.each([
    ['coordinator', /coordinator group cannot be drained/],
    ['g9', /unknown worker group "g9" \(worker groups of wftest: g1, g2\)/],
  ])('group %s is a BadConfig before anything is read', async (group, message) => {
    const m = mockActivities();
    const { error } = await drain(m.activities, { spec: SPEC_INPUT, group });
    const f = failureOf(error);
    expect(f.type).toBe('BadConfig');
    expect(f.message).toMatch(message);
    expect(sequence(m.calls)).toEqual(['validateSpec', 'loadClusterSpec']);
  });
});
