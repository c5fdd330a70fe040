/**
 * failoverGroup against a real Temporal dev server with mocked activities: the happy path for a worker
 * group and the coordinator, a healthy primary, resuming after a crash past the promotion, no
 * candidate, approval (timeout, approve, reject, validator), and a rejoin failure that is not fatal.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, WorkflowUpdateFailedError } from '@temporalio/client';
import { FAILOVER_STEPS, type FailoverGroupInput, type FailoverGroupResult } from '../../workflows';
import { failureOf, gate, runWorkflow, sequence, stateOf, step, waitForStep } from './runner';
import { mockActivities, type MockedActivities } from './mock-activities';
import { SPEC_INPUT } from './helpers';
import { useWorkflowEnv } from './workflow-env';

jest.setTimeout(60_000);

const wf = useWorkflowEnv();

const G1: FailoverGroupInput = { spec: SPEC_INPUT, group: 'g1' };
/** g1-b is ahead of g1-c: g1-b must be promoted. */
const LAGGING = { positions: { 'g1-b': { replayLsn: '0/5000000' }, 'g1-c': { replayLsn: '0/3000000' } } };

const runFailover = (
  activities: Partial<MockedActivities>,
  input: FailoverGroupInput = G1,
  during?: Parameters<typeof runWorkflow>[5],
) => wf.run<FailoverGroupResult>('failoverGroup', input, activities, during);

test('worker group: confirm down, fence, promote, re-point Citus, record, rejoin, release the lock', async () => {
  const m = mockActivities({}, LAGGING);
  const { result, error, progress } = await runFailover(m.activities);
  expect(error).toBeUndefined();

  // Lock renewals (assertHeld before each change) interleave: look at the order of the rest.
  const order = sequence(m.calls.filter((c) => c.name !== 'renewGroupLock'));
  expect(order.slice(0, 13)).toEqual([
    'validateSpec',
    'loadClusterSpec', // a stored spec to compare the given one with (none here)
    'acquireGroupLock',
    'readLivePrimaries',
    'probeMember',
    'standbyPositions', // the candidate is chosen before anything is fenced
    'fenceMember',
    'promoteStandby',
    'recordPrimaryChange', // etcd names the new primary right after promotion
    'pointCitusAt',
    'resolveInDoubtTransactions', // what the old primary left prepared, right after Citus points at the new one
    'waitMetadataSynced',
    'recordPrimaryChange', // then the event, with the outage
  ]);
  expect(order.slice(-2)).toEqual(['configureDurability', 'releaseGroupLock']);
  // Beside the rejoin: the new primary pushes what the old one had not archived.
  expect(new Set(order.slice(13, -2))).toEqual(new Set(['rejoinMember', 'checkReplication', 'closeArchiveGap']));
  expect(m.called('closeArchiveGap')[0]!.input).toMatchObject({ group: 'g1', primary: 'g1-b' });
  // The lock is verified right before the fence and before the metadata change.
  const all = m.calls.map((c) => c.name);
  expect(all[all.indexOf('fenceMember') - 1]).toBe('renewGroupLock');
  expect(all[all.indexOf('promoteStandby') - 1]).toBe('renewGroupLock');
  expect(all[all.indexOf('pointCitusAt') - 1]).toBe('renewGroupLock');
  expect(m.calls.every((c) => c.attempt === 1)).toBe(true);
  for (const n of ['pointCoordinatorAt', 'initPgBouncer', 'switchoverCriticalSection'] as const)
    expect(m.called(n)).toHaveLength(0);

  expect(m.inputs('probeMember')[0]).toMatchObject({ member: 'g1-a', probes: 3 });
  expect(m.inputs('fenceMember')[0]).toMatchObject({ member: 'g1-a' });
  expect(m.inputs('standbyPositions')[0]!.members).toEqual(['g1-b', 'g1-c']);
  expect(m.inputs('promoteStandby').map((i) => i.member)).toEqual(['g1-b']);
  expect(m.inputs('pointCitusAt')[0]).toMatchObject({ coordinator: 'coord-a', oldHost: 'g1-a', newHost: 'g1-b' });
  expect(m.inputs('recordPrimaryChange')[0]).toMatchObject({ group: 'g1', oldPrimary: 'g1-a', newPrimary: 'g1-b' });
  expect(m.inputs('recordPrimaryChange')[0]!.event).toBeUndefined();
  expect(m.inputs('recordPrimaryChange')[1]).toMatchObject({
    group: 'g1',
    oldPrimary: 'g1-a',
    newPrimary: 'g1-b',
    event: { kind: 'failover' },
  });
  expect(
    m
      .inputs('rejoinMember')
      .map((i) => `${i.member}->${i.primary}`)
      .sort(),
  ).toEqual(['g1-a->g1-b', 'g1-c->g1-b']);
  expect(
    m
      .inputs('checkReplication')
      .map((i) => `${i.standby}->${i.primary}`)
      .sort(),
  ).toEqual(['g1-a->g1-b', 'g1-c->g1-b']);
  expect(m.inputs('configureDurability')[0]).toMatchObject({ primary: 'g1-b', standbys: ['g1-a', 'g1-c'] });

  // One owner acquires and releases the g1 lock.
  const [acq] = m.inputs('acquireGroupLock');
  const [rel] = m.inputs('releaseGroupLock');
  expect(acq).toMatchObject({ group: 'g1', ttlSeconds: 30 });
  expect(rel).toMatchObject({ group: 'g1', owner: acq!.owner });
  expect(acq!.owner).toMatch(/^failoverGroup-.+\/.+$/);

  expect(progress.workflow).toBe('failoverGroup');
  expect(progress.steps.map((s) => s.name)).toEqual([...FAILOVER_STEPS]);
  expect(stateOf(progress)).toEqual(
    Object.fromEntries(FAILOVER_STEPS.map((s) => [s, s === 'approval' ? 'skipped' : 'done'])),
  );
  expect(step(progress, 'approval').detail).toBe('not required');
  expect(step(progress, 'promote').detail).toBe('g1-b');
  expect(step(progress, 'choose').detail).toBe('g1-b: highest received LSN 0/5000000');
  expect(step(progress, 'metadata').detail).toBe('node 7 -> g1-b');
  expect(step(progress, 'in-doubt').detail).toBe('0 resolved by Citus');
  expect(step(progress, 'rejoin').detail).toBe('streaming: g1-a, g1-c');

  expect(result).toMatchObject({
    outcome: 'failed-over',
    group: 'g1',
    oldPrimary: 'g1-a',
    newPrimary: 'g1-b',
    rejoined: ['g1-a', 'g1-c'],
    detail: 'g1-a -> g1-b',
  });
  expect(result!.outageWindowMs).toBeGreaterThanOrEqual(0);
  expect(result!.outageWindowMs).toBe(result!.timeline.metadataUpdated! - result!.timeline.started!);
  expect(Object.keys(result!.timeline)).toEqual(
    expect.arrayContaining(['started', 'confirmedDown', 'fenced', 'promoted', 'metadataUpdated']),
  );
  expect(m.inputs('recordPrimaryChange')[1]!.event).toMatchObject({ outageWindowMs: result!.outageWindowMs });
});

test('the promoted standby follows the LSN, not the spec order (g1-c ahead of g1-b, across the /)', async () => {
  const m = mockActivities({}, { positions: { 'g1-b': { replayLsn: '0/FFFFFFFF' }, 'g1-c': { replayLsn: '1/0' } } });
  const { result, error } = await runFailover(m.activities);
  expect(error).toBeUndefined();
  expect(result).toMatchObject({ outcome: 'failed-over', newPrimary: 'g1-c' });
  expect(m.inputs('promoteStandby').map((i) => i.member)).toEqual(['g1-c']);
  expect(
    m
      .inputs('rejoinMember')
      .map((i) => i.member)
      .sort(),
  ).toEqual(['g1-a', 'g1-b']);
});

test('a primary that answers one probe is healthy: nothing fenced or promoted, lock released', async () => {
  const m = mockActivities({}, { probes: [false, true, false] });
  const { result, error, progress } = await runFailover(m.activities);
  expect(error).toBeUndefined();
  expect(result).toMatchObject({ outcome: 'primary-healthy', oldPrimary: 'g1-a', rejoined: [] });
  expect(result!.newPrimary).toBeUndefined();
  // The standbys were only read (the choice overlaps the confirmation); nothing was changed.
  for (const n of ['fenceMember', 'promoteStandby', 'pointCitusAt', 'recordPrimaryChange', 'rejoinMember'] as const)
    expect(m.called(n)).toHaveLength(0);
  expect(m.called('releaseGroupLock')).toHaveLength(1);
  expect(stateOf(progress)).toMatchObject({
    lock: 'done',
    'confirm-down': 'done',
    approval: 'pending',
    fence: 'pending',
    promote: 'pending',
  });
});

test('a standby already out of recovery (promoted by an earlier attempt) wins over a more advanced one', async () => {
  const m = mockActivities({}, { ...LAGGING, promoted: ['g1-c'] });
  const { result, error } = await runFailover(m.activities);
  expect(error).toBeUndefined();
  expect(result).toMatchObject({ outcome: 'failed-over', newPrimary: 'g1-c' });
  expect(m.inputs('promoteStandby').map((i) => i.member)).toEqual(['g1-c']);
  expect(m.inputs('pointCitusAt')[0]).toMatchObject({ oldHost: 'g1-a', newHost: 'g1-c' });
  expect(
    m
      .inputs('rejoinMember')
      .map((i) => i.member)
      .sort(),
  ).toEqual(['g1-a', 'g1-b']);
});

test('promoteStandby reporting {promoted:false} (already promoted) does not stop the failover', async () => {
  const m = mockActivities({ promoteStandby: async () => ({ promoted: false, inDoubt: [] }) }, { promoted: ['g1-b'] });
  const { result, error } = await runFailover(m.activities);
  expect(error).toBeUndefined();
  expect(result).toMatchObject({ outcome: 'failed-over', newPrimary: 'g1-b' });
  expect(m.called('recordPrimaryChange')).toHaveLength(2);
});

test('transactions left prepared on the promoted standby are resolved once Citus points at it', async () => {
  const m = mockActivities({}, { ...LAGGING, inDoubt: { 'g1-b': ['citus_0_180_2210_212'] } });
  const { result, error, progress } = await runFailover(m.activities);
  expect(error).toBeUndefined();
  expect(result).toMatchObject({ outcome: 'failed-over', newPrimary: 'g1-b' });
  expect(m.inputs('resolveInDoubtTransactions')).toEqual([
    expect.objectContaining({ coordinator: 'coord-a', member: 'g1-b', gids: ['citus_0_180_2210_212'] }),
  ]);
  expect(step(progress, 'in-doubt').detail).toBe('1 resolved by Citus');
  // The outage window ends at the metadata switch: the resolution does not count against it.
  expect(result!.outageWindowMs).toBe(result!.timeline.metadataUpdated! - result!.timeline.started!);
});

test('transactions still prepared after the resolution are reported, not fatal', async () => {
  const m = mockActivities(
    { resolveInDoubtTransactions: async ({ gids }) => ({ recovered: 0, remaining: gids }) },
    { ...LAGGING, inDoubt: { 'g1-b': ['citus_0_1_2_3'] } },
  );
  const { result, progress } = await runFailover(m.activities);
  expect(result).toMatchObject({ outcome: 'failed-over', newPrimary: 'g1-b' });
  expect(step(progress, 'in-doubt').detail).toBe(
    "0 resolved by Citus; still prepared: citus_0_1_2_3 (Citus's maintenance daemon resolves them)",
  );
});

test('a failure resolving them does not fail the failover: the step says so, the rest goes on', async () => {
  const m = mockActivities(
    {
      async resolveInDoubtTransactions() {
        throw ApplicationFailure.nonRetryable(
          'resolving in-doubt transactions on g1-b: connection refused',
          'NotReady',
        );
      },
    },
    { ...LAGGING, inDoubt: { 'g1-b': ['citus_0_1_2_3'] } },
  );
  const { result, error, progress } = await runFailover(m.activities);
  expect(error).toBeUndefined();
  expect(result).toMatchObject({ outcome: 'failed-over', newPrimary: 'g1-b' });
  expect(step(progress, 'in-doubt')).toMatchObject({
    state: 'failed',
    detail: 'resolving in-doubt transactions on g1-b: connection refused',
  });
  expect(m.called('waitMetadataSynced')).toHaveLength(1);
  expect(m.called('rejoinMember').length).toBeGreaterThan(0);
});

test('a retryable failure re-pointing Citus after the promotion is retried; the standby is promoted once', async () => {
  const m = mockActivities(
    {
      async pointCitusAt() {
        if (m.called('pointCitusAt').length === 1)
          throw ApplicationFailure.retryable('coordinator connection reset', 'NotReady');
        return { updated: true, nodeId: 3 };
      },
    },
    LAGGING,
  );
  const { result, error, progress } = await runFailover(m.activities);
  expect(error).toBeUndefined();
  expect(result).toMatchObject({ outcome: 'failed-over', newPrimary: 'g1-b' });
  expect(m.called('pointCitusAt').map((c) => c.attempt)).toEqual([1, 2]);
  expect(m.called('promoteStandby')).toHaveLength(1);
  expect(m.called('fenceMember')).toHaveLength(1);
  expect(step(progress, 'metadata')).toMatchObject({ state: 'done', detail: 'node 3 -> g1-b' });
});

test('coordinator group: re-points the coordinator metadata and PgBouncer, not Citus worker metadata', async () => {
  const m = mockActivities();
  const { result, error, progress } = await runFailover(m.activities, { spec: SPEC_INPUT, group: 'coordinator' });
  expect(error).toBeUndefined();
  expect(result).toMatchObject({
    outcome: 'failed-over',
    oldPrimary: 'coord-a',
    newPrimary: 'coord-b',
    rejoined: ['coord-a'],
  });
  expect(m.called('pointCitusAt')).toHaveLength(0);
  expect(m.inputs('pointCoordinatorAt')).toEqual([expect.objectContaining({ newCoordinator: 'coord-b' })]);
  expect(m.inputs('initPgBouncer')).toEqual([expect.objectContaining({ coordinator: 'coord-b' })]);
  const order = sequence(m.calls);
  expect(order.indexOf('pointCoordinatorAt')).toBeLessThan(order.indexOf('initPgBouncer'));
  expect(order.indexOf('recordPrimaryChange')).toBeLessThan(order.indexOf('pointCoordinatorAt'));
  expect(order.lastIndexOf('recordPrimaryChange')).toBeGreaterThan(order.indexOf('initPgBouncer'));
  expect(m.called('waitMetadataSynced')).toHaveLength(0);
  expect(m.inputs('acquireGroupLock')[0]).toMatchObject({ group: 'coordinator' });
  expect(step(progress, 'metadata').detail).toBe('coordinator coord-b; PgBouncer re-pointed');
  expect(m.inputs('resolveInDoubtTransactions')).toEqual([
    expect.objectContaining({ coordinator: 'coord-b', member: 'coord-b' }),
  ]);
});

test('no reachable standby: outcome no-candidate, nothing fenced or promoted, the lock released', async () => {
  const m = mockActivities(
    {},
    {
      positions: {
        'g1-b': { reachable: false, replayLsn: null, receiveLsn: null },
        'g1-c': { reachable: false, replayLsn: null, receiveLsn: null },
      },
    },
  );
  const { result, error, progress } = await runFailover(m.activities);
  expect(error).toBeUndefined();
  expect(result).toMatchObject({ outcome: 'no-candidate', oldPrimary: 'g1-a' });
  expect(result!.newPrimary).toBeUndefined();
  expect(result!.detail).toMatch(
    /no standby of g1 can be promoted \(no reachable standby \(g1-b, g1-c\)\); nothing was changed/,
  );
  for (const n of ['fenceMember', 'promoteStandby', 'pointCitusAt', 'recordPrimaryChange', 'rejoinMember'] as const)
    expect(m.called(n)).toHaveLength(0);
  expect(m.called('releaseGroupLock')).toHaveLength(1);
  expect(sequence(m.calls).at(-1)).toBe('releaseGroupLock');
  expect(stateOf(progress)).toMatchObject({
    choose: 'done',
    fence: 'pending',
    promote: 'pending',
    metadata: 'pending',
  });
});

test('the candidate lost between the choice and its promotion: the fence is lifted, outcome no-candidate', async () => {
  const m = mockActivities(
    {
      async promoteStandby() {
        throw ApplicationFailure.nonRetryable('g1-b: connection refused', 'NotReady');
      },
    },
    LAGGING,
  );
  const { result, error } = await runFailover(m.activities);
  expect(error).toBeUndefined();
  expect(result).toMatchObject({ outcome: 'no-candidate', oldPrimary: 'g1-a' });
  expect(result!.detail).toMatch(/g1-b could not be promoted/);
  expect(m.called('fenceMember')).toHaveLength(1);
  expect(m.inputs('unfencePrimary')).toEqual([expect.objectContaining({ member: 'g1-a', others: ['g1-b', 'g1-c'] })]);
  for (const n of ['pointCitusAt', 'recordPrimaryChange', 'rejoinMember'] as const) expect(m.called(n)).toHaveLength(0);
  expect(m.called('releaseGroupLock')).toHaveLength(1);
});

describe('a promotion whose answer never came: the old primary is never un-fenced into a split brain', () => {
  const promoteLost = () => {
    throw ApplicationFailure.nonRetryable('promoting g1-b: Connection terminated unexpectedly', 'NotReady');
  };
  /** The candidate answers the choice, then cannot be reached (the promote went through, the answer was lost). */
  const lostAfterChoice =
    (m: { called: (n: 'standbyPositions') => unknown[] }) =>
    async ({ members }: { members: string[] }) =>
      members.map((member) => ({
        member,
        reachable: !(member === 'g1-b' && m.called('standbyPositions').length > 1),
        inRecovery: true,
        replayLsn: member === 'g1-b' ? '0/5000000' : '0/3000000',
        receiveLsn: null,
      }));
  /** What the real activity answers when a member cannot be reached (unfenceBlockers). */
  const refuse = async () => {
    throw ApplicationFailure.nonRetryable(
      'cannot unfence g1-a: g1-b cannot be reached (container running): it may have been promoted',
      'Refused',
    );
  };

  test('the candidate cannot be reached: un-fence refused, g1-a stays fenced, needs-operator, commands', async () => {
    const m = mockActivities({
      promoteStandby: async () => promoteLost(),
      unfencePrimary: refuse,
      standbyPositions: (i) => lostAfterChoice(m)(i),
    });
    const { result, error, progress } = await runFailover(m.activities);
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ outcome: 'needs-operator', group: 'g1', oldPrimary: 'g1-a' });
    expect(result!.newPrimary).toBeUndefined();
    expect(result!.detail).toMatch(
      /^g1-a stays fenced: g1-b could not be promoted \(promoting g1-b: Connection terminated unexpectedly\) /,
    );
    expect(result!.detail).toMatch(/\(promoting g1-b: Connection terminated unexpectedly\) and g1-b cannot be reached/);
    expect(result!.detail).toMatch(/`citusctl failover g1` finishes the failover onto it/);
    expect(result!.detail).toMatch(/`citusctl unfence g1-a`/);
    // Fenced once, never recorded as anyone's primary, Citus
    // untouched; the lock is checked right before the un-fence.
    expect(m.called('fenceMember')).toHaveLength(1);
    for (const n of ['recordPrimaryChange', 'pointCitusAt', 'rejoinMember'] as const)
      expect(m.called(n)).toHaveLength(0);
    const all = m.calls.map((c) => c.name);
    expect(all[all.indexOf('unfencePrimary') - 1]).toBe('renewGroupLock');
    expect(m.inputs('unfencePrimary')).toEqual([expect.objectContaining({ member: 'g1-a', others: ['g1-b', 'g1-c'] })]);
    expect(sequence(m.calls).at(-1)).toBe('releaseGroupLock');
    expect(step(progress, 'promote')).toMatchObject({ state: 'failed' });
    expect(step(progress, 'record').state).toBe('pending');
  });

  test('the candidate answers as writable afterwards: it was promoted, the failover finishes onto it', async () => {
    const m = mockActivities({
      promoteStandby: async () =>
        m.called('promoteStandby').length === 1 ? promoteLost() : { promoted: false, inDoubt: ['citus_0_9_9_9'] },
      standbyPositions: async (i) =>
        (await lostAfterChoice(m)(i)).map((p) =>
          p.member === 'g1-b' ? { ...p, reachable: true, inRecovery: m.called('standbyPositions').length === 1 } : p,
        ),
    });
    const { result, error, progress } = await runFailover(m.activities);
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ outcome: 'failed-over', newPrimary: 'g1-b' });
    expect(m.inputs('promoteStandby').map((i) => i.member)).toEqual(['g1-b', 'g1-b']);
    expect(m.called('unfencePrimary')).toHaveLength(0);
    expect(m.inputs('pointCitusAt')[0]).toMatchObject({ oldHost: 'g1-a', newHost: 'g1-b' });
    expect(step(progress, 'promote').detail).toBe('g1-b (g1-b answers as writable: its promotion went through)');
  });

  test('a lock lost before the un-fence stops the failover there: LockLost, never un-fenced', async () => {
    const m = mockActivities(
      {
        promoteStandby: async () => promoteLost(),
        async renewGroupLock() {
          if (m.called('promoteStandby').length)
            throw ApplicationFailure.nonRetryable('the lock of group g1 is held by someone else', 'LockLost');
          return { ttl: 30 };
        },
      },
      LAGGING,
    );
    const { error } = await runFailover(m.activities);
    expect(failureOf(error)).toMatchObject({ type: 'LockLost' });
    expect(m.called('unfencePrimary')).toHaveLength(0);
    expect(m.called('releaseGroupLock')).toHaveLength(1);
  });
});

test('a lock found lost right before the fence stops the failover: LockLost, nothing fenced', async () => {
  const m = mockActivities(
    {
      async renewGroupLock() {
        throw ApplicationFailure.nonRetryable('the lock of group g1 expired (lease answered TTL 0)', 'LockLost');
      },
    },
    LAGGING,
  );
  const { error } = await runFailover(m.activities);
  expect(failureOf(error)).toMatchObject({ type: 'LockLost', nonRetryable: true });
  expect(failureOf(error).message).toMatch(/lost the etcd lock of group g1: the lock of group g1 expired/);
  expect(m.called('fenceMember')).toHaveLength(0);
  expect(m.called('promoteStandby')).toHaveLength(0);
  expect(m.called('releaseGroupLock')).toHaveLength(1);
});

test('a non-retryable activity failure mid-failover also releases the lock', async () => {
  const m = mockActivities({
    async fenceMember() {
      throw ApplicationFailure.nonRetryable('docker says no', 'BadConfig');
    },
  });
  const { error, progress } = await runFailover(m.activities);
  expect(failureOf(error)).toMatchObject({ type: 'BadConfig' });
  expect(m.called('releaseGroupLock')).toHaveLength(1);
  expect(m.called('promoteStandby')).toHaveLength(0);
  expect(step(progress, 'fence')).toMatchObject({ state: 'failed', detail: 'docker says no' });
});

describe('approval', () => {
  test('no decision within approvalTimeout: approval-timeout, nothing fenced', async () => {
    const m = mockActivities();
    const t0 = Date.now();
    const { result, error, progress } = await runFailover(m.activities, {
      ...G1,
      requireApproval: true,
      approvalTimeout: '2s',
    });
    expect(error).toBeUndefined();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
    expect(result).toMatchObject({ outcome: 'approval-timeout', oldPrimary: 'g1-a' });
    expect(result!.detail).toMatch(/no approval within 2s/);
    expect(m.called('fenceMember')).toHaveLength(0);
    expect(m.called('promoteStandby')).toHaveLength(0);
    expect(m.called('releaseGroupLock')).toHaveLength(1);
    expect(step(progress, 'approval')).toMatchObject({ state: 'failed', detail: 'timed out' });
  });

  test('the spec default (requireFailoverApproval) applies when the input does not say', async () => {
    const m = mockActivities();
    const { result } = await runFailover(m.activities, {
      spec: { ...SPEC_INPUT, requireFailoverApproval: true },
      group: 'g1',
      approvalTimeout: '1s',
    });
    expect(result!.outcome).toBe('approval-timeout');
    expect(m.called('fenceMember')).toHaveLength(0);
  });

  test('approved while waiting: proceeds and records the approver', async () => {
    const m = mockActivities({}, LAGGING);
    let reply: unknown;
    let fencedBeforeApproval = -1;
    const { result, error, progress } = await runFailover(
      m.activities,
      { ...G1, requireApproval: true, approvalTimeout: '30s' },
      async (handle) => {
        const during = await waitForStep(handle, 'approval', 'running');
        expect(stateOf(during)).toMatchObject({ 'confirm-down': 'done', approval: 'running', fence: 'pending' });
        fencedBeforeApproval = m.called('fenceMember').length;
        reply = await handle.executeUpdate('approve', { args: [{ approver: 'alice', approve: true }] });
      },
    );
    expect(error).toBeUndefined();
    expect(fencedBeforeApproval).toBe(0);
    expect(reply).toBe('approved by alice');
    expect(result).toMatchObject({ outcome: 'failed-over', newPrimary: 'g1-b' });
    expect(step(progress, 'approval')).toMatchObject({ state: 'done', detail: 'approved by alice' });
    expect(m.called('fenceMember')).toHaveLength(1);
    // Probed again and the candidate chosen again after the approval, before fencing.
    expect(m.called('probeMember')).toHaveLength(2);
    expect(m.called('standbyPositions')).toHaveLength(2);
  });

  test('the primary answers again after the approval: primary-healthy, nothing fenced', async () => {
    let probes = 0;
    const m = mockActivities({
      async probeMember() {
        probes += 1;
        return probes === 1
          ? [{ ok: false, detail: 'container exited', conclusive: true }]
          : [{ ok: true, detail: 'answers as primary' }];
      },
    });
    const { result, error } = await runFailover(
      m.activities,
      { ...G1, requireApproval: true, approvalTimeout: '30s' },
      async (handle) => {
        await waitForStep(handle, 'approval', 'running');
        await handle.executeUpdate('approve', { args: [{ approver: 'alice', approve: true }] });
      },
    );
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ outcome: 'primary-healthy' });
    expect(m.called('fenceMember')).toHaveLength(0);
  });

  test('rejected: outcome rejected, nothing changed', async () => {
    const m = mockActivities();
    const { result, error, progress } = await runFailover(
      m.activities,
      { ...G1, requireApproval: true, approvalTimeout: '30s' },
      async (handle) => {
        await waitForStep(handle, 'approval', 'running');
        expect(
          await handle.executeUpdate('approve', { args: [{ approver: 'bob', approve: false, comment: 'not now' }] }),
        ).toBe('rejected by bob');
      },
    );
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ outcome: 'rejected', detail: 'rejected by bob; nothing was changed' });
    expect(m.called('fenceMember')).toHaveLength(0);
    expect(m.called('releaseGroupLock')).toHaveLength(1);
    expect(step(progress, 'approval')).toMatchObject({ state: 'failed', detail: 'rejected by bob' });
  });

  test('the validator rejects an approval when none is awaited (approval not required)', async () => {
    const fence = gate();
    const entered = gate();
    const m = mockActivities({
      async fenceMember() {
        entered.open();
        await fence.wait;
        return { wasRunning: true };
      },
    });
    let updateError: unknown;
    const { result, error } = await runFailover(m.activities, G1, async (handle) => {
      await entered.wait;
      updateError = await handle.executeUpdate('approve', { args: [{ approver: 'alice', approve: true }] }).then(
        () => undefined,
        (e: unknown) => e,
      );
      fence.open();
    });
    expect(updateError).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((updateError as WorkflowUpdateFailedError).cause?.message)).toMatch(/not waiting for approval/);
    expect(error).toBeUndefined();
    expect(result!.outcome).toBe('failed-over');
  });

  test('the validator rejects an approval sent before the workflow reaches the approval step', async () => {
    const probe = gate();
    const entered = gate();
    const m = mockActivities({
      async probeMember() {
        entered.open();
        await probe.wait;
        return [1, 2, 3].map((i) => ({ ok: false, detail: `probe ${i}: refused` }));
      },
    });
    let early: unknown;
    const { result } = await runFailover(
      m.activities,
      { ...G1, requireApproval: true, approvalTimeout: '1s' },
      async (handle) => {
        await entered.wait;
        early = await handle
          .executeUpdate('approve', { args: [{ approver: 'alice', approve: true }] })
          .catch((e: unknown) => e);
        probe.open();
      },
    );
    expect(early).toBeInstanceOf(WorkflowUpdateFailedError);
    // The early approval was not kept: the workflow still waited and timed out.
    expect(result!.outcome).toBe('approval-timeout');
    expect(m.called('fenceMember')).toHaveLength(0);
  });

  /* Two decisions arriving together: the validator refuses the second once the first was taken. */
  test('concurrent approve and reject: exactly one decision is accepted and it decides the outcome', async () => {
    for (let i = 0; i < 5; i++) {
      const m = mockActivities();
      let replies: unknown[] = [];
      const { result } = await runFailover(
        m.activities,
        { ...G1, requireApproval: true, approvalTimeout: '30s' },
        async (handle) => {
          await waitForStep(handle, 'approval', 'running');
          replies = await Promise.all([
            handle.executeUpdate('approve', { args: [{ approver: 'alice', approve: true }] }).catch((e: unknown) => e),
            handle.executeUpdate('approve', { args: [{ approver: 'bob', approve: false }] }).catch((e: unknown) => e),
          ]);
        },
      );
      const accepted = replies.filter((r) => typeof r === 'string');
      expect(accepted).toHaveLength(1);
      expect(result!.outcome).toBe(accepted[0] === 'approved by alice' ? 'failed-over' : 'rejected');
    }
  });

  test('the validator rejects an empty approver and a non-boolean decision; a valid one goes through', async () => {
    const m = mockActivities();
    const rejected: unknown[] = [];
    const { result, progress } = await runFailover(
      m.activities,
      { ...G1, requireApproval: true, approvalTimeout: '30s' },
      async (handle) => {
        await waitForStep(handle, 'approval', 'running');
        rejected.push(
          await handle.executeUpdate('approve', { args: [{ approver: '  ', approve: true }] }).catch((e: unknown) => e),
        );
        rejected.push(
          await handle
            .executeUpdate('approve', { args: [{ approver: 'carol', approve: 'yes' as unknown as boolean }] })
            .catch((e: unknown) => e),
        );
        // Still waiting after the rejected updates.
        expect(stateOf(await handle.query('progress'))).toMatchObject({ approval: 'running', fence: 'pending' });
        await handle.executeUpdate('approve', { args: [{ approver: 'carol', approve: true }] });
      },
    );
    expect(rejected.map((e) => e instanceof WorkflowUpdateFailedError)).toEqual([true, true]);
    expect(String((rejected[0] as WorkflowUpdateFailedError).cause?.message)).toMatch(/approver is required/);
    expect(String((rejected[1] as WorkflowUpdateFailedError).cause?.message)).toMatch(/approve must be true or false/);
    expect(result!.outcome).toBe('failed-over');
    expect(step(progress, 'approval').detail).toBe('approved by carol');
  });
});

test('one member failing to rejoin is reported, not fatal', async () => {
  const m = mockActivities(
    {
      async rejoinMember({ member }) {
        if (member === 'g1-a') throw ApplicationFailure.nonRetryable('container g1-a is gone', 'NotFound');
        return { action: 'rewound' };
      },
    },
    LAGGING,
  );
  const { result, error, progress } = await runFailover(m.activities);
  expect(error).toBeUndefined();
  expect(result).toMatchObject({ outcome: 'failed-over', newPrimary: 'g1-b', rejoined: ['g1-c'] });
  expect(step(progress, 'rejoin')).toMatchObject({
    state: 'done',
    detail: 'streaming: g1-c; not rejoined: g1-a: container g1-a is gone',
  });
  expect(m.inputs('checkReplication').map((i) => i.standby)).toEqual(['g1-c']);
  // Durability is still restored (the activity itself keeps only the standbys that stream).
  expect(m.called('configureDurability')).toHaveLength(1);
  expect(m.called('releaseGroupLock')).toHaveLength(1);
});

test('rejoin: false skips the rejoin step', async () => {
  const m = mockActivities({}, LAGGING);
  const { result, progress } = await runFailover(m.activities, { ...G1, rejoin: false });
  expect(result).toMatchObject({ outcome: 'failed-over', rejoined: [] });
  expect(m.called('rejoinMember')).toHaveLength(0);
  expect(m.called('configureDurability')).toHaveLength(0);
  expect(step(progress, 'rejoin')).toMatchObject({ state: 'skipped', detail: 'not requested' });
});

test('an unknown group fails BadConfig before acting, holding no lock', async () => {
  const m = mockActivities();
  const { error } = await runFailover(m.activities, { spec: SPEC_INPUT, group: 'g9' });
  expect(failureOf(error)).toMatchObject({ type: 'BadConfig', nonRetryable: true });
  expect(m.called('releaseGroupLock')).toHaveLength(m.called('acquireGroupLock').length); // no lock left held
  expect(m.called('probeMember').length + m.called('standbyPositions').length).toBe(0);
});

/* A failed lease renewal (every 10 s) stops the failover before it acts. Takes ~13 s. */
test('losing the lock mid-failover stops before acting and fails the workflow (LockLost)', async () => {
  const m = mockActivities({
    async probeMember() {
      // Outlive one renewal period, heartbeating like a real activity.
      for (let i = 0; i < 12; i++) {
        Context.current().heartbeat();
        await new Promise((r) => setTimeout(r, 1000));
      }
      return [1, 2, 3].map((i) => ({ ok: false, detail: `probe ${i}: refused` }));
    },
    async renewGroupLock() {
      throw ApplicationFailure.nonRetryable('lease 42 expired', 'LeaseExpired');
    },
  });
  let closed: unknown = 'still running after 32 s';
  await runFailover(m.activities, G1, async (handle) => {
    closed = await Promise.race([
      handle.result().then(
        () => 'completed',
        (e: unknown) => e,
      ),
      new Promise((r) => setTimeout(() => r('still running after 32 s'), 32_000)),
    ]);
    if (typeof closed === 'string') await handle.terminate('test: stuck workflow');
  }).catch(() => undefined);
  expect(m.called('renewGroupLock').length).toBeGreaterThanOrEqual(1);
  expect(m.called('fenceMember')).toHaveLength(0); // no action without the lock
  expect(failureOf(closed)).toMatchObject({ nonRetryable: true });
});
