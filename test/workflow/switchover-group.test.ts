/**
 * switchoverGroup against a real Temporal dev server with mocked activities: choosing the target,
 * the critical section, converging Citus metadata when the section did not, the coordinator path,
 * rejoin, and the lock.
 */
import { ApplicationFailure } from '@temporalio/client';
import { SWITCHOVER_STEPS, type SwitchoverGroupInput, type SwitchoverGroupResult } from '../../workflows';
import { failureOf, sequence, stateOf, step } from './runner';
import { mockActivities, type MockedActivities } from './mock-activities';
import { SPEC_INPUT } from './helpers';
import { useWorkflowEnv } from './workflow-env';

jest.setTimeout(60_000);

const wf = useWorkflowEnv();

const G1: SwitchoverGroupInput = { spec: SPEC_INPUT, group: 'g1' };
const LAGGING = { positions: { 'g1-b': { replayLsn: '0/5000000' }, 'g1-c': { replayLsn: '0/3000000' } } };
const runSwitchover = (activities: Partial<MockedActivities>, input: SwitchoverGroupInput = G1) =>
  wf.run<SwitchoverGroupResult>('switchoverGroup', input, activities);

test('default target: the most advanced standby; metadata updated inside the pause; old primary rejoins', async () => {
  const m = mockActivities(
    { switchoverCriticalSection: async () => ({ pauseMs: 1234, promoted: true, metadataUpdated: true }) },
    LAGGING,
  );
  const { result, error, progress } = await runSwitchover(m.activities);
  expect(error).toBeUndefined();

  const order = sequence(m.calls.filter((c) => c.name !== 'renewGroupLock'));
  // readLivePrimaries and acquireGroupLock in either order (reading under the lock is a proposed fix).
  expect([...order.slice(0, 2), ...order.slice(2, 4).sort(), ...order.slice(4, 7)]).toEqual([
    'validateSpec',
    'loadClusterSpec',
    'acquireGroupLock',
    'readLivePrimaries',
    'standbyPositions',
    'switchoverCriticalSection',
    'recordPrimaryChange',
  ]);
  expect(order.slice(-2)).toEqual(['configureDurability', 'releaseGroupLock']);
  for (const n of [
    'probeMember',
    'fenceMember',
    'promoteStandby',
    'pointCitusAt',
    'pointCoordinatorAt',
    'initPgBouncer',
  ] as const)
    expect(m.called(n)).toHaveLength(0);

  expect(m.inputs('standbyPositions')[0]!.members).toEqual(['g1-b', 'g1-c']);
  expect(m.inputs('switchoverCriticalSection')[0]).toMatchObject({
    coordinator: 'coord-a',
    oldPrimary: 'g1-a',
    newPrimary: 'g1-b',
    isCoordinatorGroup: false,
  });
  // etcd names the new primary right after the switch; the event follows once metadata is done.
  expect(m.inputs('recordPrimaryChange')[0]).toMatchObject({ group: 'g1', oldPrimary: 'g1-a', newPrimary: 'g1-b' });
  expect(m.inputs('recordPrimaryChange').at(-1)).toMatchObject({
    group: 'g1',
    oldPrimary: 'g1-a',
    newPrimary: 'g1-b',
    event: { kind: 'switchover', pauseMs: 1234 },
  });
  expect(
    m
      .inputs('rejoinMember')
      .map((i) => `${i.member}->${i.primary}`)
      .sort(),
  ).toEqual(['g1-a->g1-b', 'g1-c->g1-b']);
  expect(m.inputs('releaseGroupLock')[0]!.owner).toBe(m.inputs('acquireGroupLock')[0]!.owner);

  expect(result).toEqual({
    group: 'g1',
    oldPrimary: 'g1-a',
    newPrimary: 'g1-b',
    pauseMs: 1234,
    rejoined: ['g1-a', 'g1-c'],
    notRejoined: [],
    detail: 'g1-a -> g1-b',
  });
  expect(progress.steps.map((s) => s.name)).toEqual([...SWITCHOVER_STEPS]);
  expect(progress.steps.every((s) => s.state === 'done')).toBe(true);
  expect(step(progress, 'choose').detail).toBe('g1-b');
  expect(step(progress, 'switch').detail).toBe('writes held 1234 ms');
  expect(step(progress, 'metadata').detail).toBe('updated inside the pause');
});

test('`to` picks that standby even when another is more advanced', async () => {
  const m = mockActivities({}, LAGGING);
  const { result, error } = await runSwitchover(m.activities, { ...G1, to: 'g1-c' });
  expect(error).toBeUndefined();
  expect(result).toMatchObject({ newPrimary: 'g1-c', pauseMs: 42 });
  expect(m.inputs('switchoverCriticalSection')[0]).toMatchObject({ newPrimary: 'g1-c' });
});

test('`to` naming a member outside the group fails BadConfig naming `to`, before the lock', async () => {
  const m = mockActivities();
  const { error, progress } = await runSwitchover(m.activities, { ...G1, to: 'g9-z' });
  const f = failureOf(error);
  expect(f).toMatchObject({ type: 'BadConfig', nonRetryable: true });
  expect(f.message).toContain('to: g9-z is not a member of g1 (g1-a, g1-b, g1-c)');
  expect(m.called('acquireGroupLock')).toHaveLength(0);
  expect(step(progress, 'validate').state).toBe('failed');
});

test.each([['an unreachable standby', 'g1-c', { positions: { 'g1-c': { reachable: false, replayLsn: null } } }]])(
  '`to` naming %s fails NoCandidate without touching the group, and releases the lock',
  async (_what, to, scenario) => {
    const m = mockActivities({}, scenario);
    const { error, progress } = await runSwitchover(m.activities, { ...G1, to });
    const f = failureOf(error);
    expect(f).toMatchObject({ type: 'NoCandidate', nonRetryable: true });
    expect(f.message).toContain(`${to} is not a reachable streaming standby`);
    expect(m.called('switchoverCriticalSection')).toHaveLength(0);
    expect(m.called('releaseGroupLock')).toHaveLength(1);
    expect(stateOf(progress)).toMatchObject({ choose: 'failed', switch: 'pending' });
  },
);

test('`to` naming the current primary fails BadConfig before acting, holding no lock', async () => {
  const m = mockActivities();
  const { error } = await runSwitchover(m.activities, { ...G1, to: 'g1-a' });
  expect(failureOf(error)).toMatchObject({ type: 'BadConfig', nonRetryable: true });
  expect(m.called('releaseGroupLock')).toHaveLength(m.called('acquireGroupLock').length); // no lock left held
  expect(m.called('probeMember').length + m.called('standbyPositions').length).toBe(0);
});

test('metadata not updated inside the section (resumed after a crash): pointCitusAt converges it', async () => {
  const m = mockActivities(
    { switchoverCriticalSection: async () => ({ pauseMs: 0, promoted: false, metadataUpdated: false }) },
    LAGGING,
  );
  const { result, error, progress } = await runSwitchover(m.activities);
  expect(error).toBeUndefined();
  expect(m.inputs('pointCitusAt')).toEqual([
    expect.objectContaining({ coordinator: 'coord-a', oldHost: 'g1-a', newHost: 'g1-b' }),
  ]);
  const order = sequence(m.calls.filter((c) => c.name !== 'renewGroupLock'));
  expect(order.indexOf('switchoverCriticalSection')).toBeLessThan(order.indexOf('pointCitusAt'));
  // etcd first (a crash between them never leaves etcd naming the fenced member), then metadata.
  expect(order.indexOf('recordPrimaryChange')).toBeLessThan(order.indexOf('pointCitusAt'));
  expect(order.indexOf('pointCitusAt')).toBeLessThan(order.lastIndexOf('recordPrimaryChange'));
  expect(step(progress, 'metadata').detail).toBe('updated');
  expect(result!.pauseMs).toBe(0);
});

test('coordinator group: critical section flagged, then coordinator metadata and PgBouncer re-pointed', async () => {
  const m = mockActivities({
    switchoverCriticalSection: async () => ({ pauseMs: 5, promoted: true, metadataUpdated: false }),
  });
  const { result, error, progress } = await runSwitchover(m.activities, { spec: SPEC_INPUT, group: 'coordinator' });
  expect(error).toBeUndefined();
  expect(m.inputs('switchoverCriticalSection')[0]).toMatchObject({
    coordinator: 'coord-a',
    oldPrimary: 'coord-a',
    newPrimary: 'coord-b',
    isCoordinatorGroup: true,
  });
  expect(m.called('pointCitusAt')).toHaveLength(0);
  expect(m.inputs('pointCoordinatorAt')).toEqual([expect.objectContaining({ newCoordinator: 'coord-b' })]);
  expect(m.inputs('initPgBouncer')).toEqual([expect.objectContaining({ coordinator: 'coord-b' })]);
  expect(m.inputs('rejoinMember').map((i) => `${i.member}->${i.primary}`)).toEqual(['coord-a->coord-b']);
  expect(step(progress, 'metadata').detail).toBe('coordinator and PgBouncer re-pointed');
  expect(result).toMatchObject({ oldPrimary: 'coord-a', newPrimary: 'coord-b', pauseMs: 5, rejoined: ['coord-a'] });
});

test('a failing critical section fails the workflow, releases the lock, and records nothing', async () => {
  const m = mockActivities({
    async switchoverCriticalSection() {
      throw ApplicationFailure.nonRetryable('target did not catch up within the pause budget', 'Timeout');
    },
  });
  const { error, progress } = await runSwitchover(m.activities);
  expect(failureOf(error)).toMatchObject({ type: 'Timeout' });
  expect(m.called('recordPrimaryChange')).toHaveLength(0);
  expect(m.called('rejoinMember')).toHaveLength(0);
  expect(m.called('releaseGroupLock')).toHaveLength(1);
  expect(stateOf(progress)).toMatchObject({ switch: 'failed', metadata: 'pending' });
});
