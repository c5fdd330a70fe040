/**
 * Runbooks on a cluster whose spec lists several hosts. Failover, switchover of a worker group and
 * rejoin run their container steps (probe, fence, rejoin, the switchover's section) on the member's
 * host queue (`citusctl-host-<h>`) and their SQL and etcd steps on the shared queue; a host whose
 * worker takes no step in time does not answer: its primary counts as fenced only once its peers
 * have lost it for the self-fence deadline, and not at all while they reach it. The other runbooks
 * refuse several hosts before any step acts. Mocked activities, real Temporal dev server, a worker
 * per host queue.
 */
import { Context } from '@temporalio/activity';
import type { Worker } from '@temporalio/worker';
import { hostOfContainer } from '../../common/addressing';
import { parseSpec } from '../../common/spec';
import { hostTaskQueue } from '../../common/task-queues';
import type { FailoverGroupResult, SwitchoverGroupResult } from '../../workflows';
import { failureOf, step } from './runner';
import { mockActivities } from './mock-activities';
import { SEVERAL_HOSTS_INPUT } from './helpers';
import { useWorkflowEnv } from './workflow-env';

jest.setTimeout(90_000);

const wf = useWorkflowEnv();

const severalHosts = SEVERAL_HOSTS_INPUT;
const spec = parseSpec(severalHosts);
const name = spec.name;
const hostOf = (member: string) => hostOfContainer(spec, member).name;

/** The mocks, each call also noting the task queue it ran on. */
function routed(
  scenario: Parameters<typeof mockActivities>[1] = {},
  overrides: Parameters<typeof mockActivities>[0] = {},
) {
  const m = mockActivities(overrides, { stored: { [name]: severalHosts }, ...scenario });
  const queues: Array<{ name: string; member?: string; queue: string }> = [];
  const activities = Object.fromEntries(
    Object.entries(m.activities).map(([n, fn]) => [
      n,
      async (...args: unknown[]) => {
        const input = args[0] as { member?: string } | undefined;
        queues.push({ name: n, member: input?.member, queue: Context.current().info.taskQueue });
        return (fn as (...a: unknown[]) => Promise<unknown>)(...args);
      },
    ]),
  );
  const queueOf = (n: string, member?: string) =>
    queues.filter((q) => q.name === n && (member === undefined || q.member === member)).map((q) => q.queue);
  return { ...m, activities, queueOf };
}

/** Runs the workflow with a worker on each of `hosts`' queues (the others do not answer). */
async function runWithHosts<R>(hosts: string[], workflow: string, input: unknown, activities: object) {
  const workers: Worker[] = await Promise.all(hosts.map((h) => wf.worker(hostTaskQueue(h), activities)));
  const run = () => wf.run<R>(workflow, input, activities);
  return workers.reduce<() => ReturnType<typeof run>>((inner, w) => () => w.runUntil(inner()), run)();
}

const shared = (q: string[]) => q.every((x) => !x.startsWith('citusctl-host-'));

describe('failover on several hosts', () => {
  const g1a = hostOf('g1-a');
  const g1b = hostOf('g1-b');

  test("probe, fence and rejoin run on each member's host queue; SQL and etcd on the shared queue", async () => {
    expect(g1a).not.toBe(g1b);
    const m = routed();
    const { result, error } = await runWithHosts<FailoverGroupResult>(
      ['h1', 'h2'],
      'failoverGroup',
      { cluster: name, group: 'g1' },
      m.activities,
    );
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ outcome: 'failed-over', oldPrimary: 'g1-a', rejoined: ['g1-a', 'g1-c'] });
    // On its host's engine, and beside it by SQL from the shared queue (used only if the host is silent).
    expect(m.queueOf('probeMember')).toContain(hostTaskQueue(g1a));
    expect(m.inputs('probeMember').filter((p) => p.engine !== false)).toHaveLength(1);
    expect(m.queueOf('fenceMember')).toEqual([hostTaskQueue(g1a)]);
    expect(m.queueOf('rejoinMember', 'g1-a')).toEqual([hostTaskQueue(g1a)]);
    for (const n of ['standbyPositions', 'promoteStandby', 'pointCitusAt', 'recordPrimaryChange', 'checkReplication'])
      expect({ n, shared: shared(m.queueOf(n)) }).toEqual({ n, shared: true });
    // The host answered: its peers' word (asked beside the probe) fenced nothing.
    expect(m.called('recordMemberStateInEtcd')).toEqual([]);
  });

  test("the old primary's host is silent: fenced once its peers lost it for the self-fence deadline", async () => {
    const m = routed();
    const live = g1a === 'h1' ? 'h2' : 'h1';
    const { result, error, progress } = await runWithHosts<FailoverGroupResult>(
      [live],
      'failoverGroup',
      { cluster: name, group: 'g1' },
      m.activities,
    );
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ outcome: 'failed-over', oldPrimary: 'g1-a', newPrimary: 'g1-b' });
    // Confirmed down by SQL from the shared queue, never by the silent host's engine.
    expect(m.inputs('probeMember')).toEqual([expect.objectContaining({ member: 'g1-a', engine: false })]);
    expect(m.called('fenceMember')).toEqual([]);
    // The first look (beside the probe) starts the loss; a later one, past the deadline, finds it still lost.
    expect(m.called('observeHostReach').length).toBeGreaterThanOrEqual(2);
    const order = m.calls.map((c) => c.name);
    expect(order.lastIndexOf('observeHostReach')).toBeLessThan(order.indexOf('recordMemberStateInEtcd'));
    expect(order.indexOf('recordMemberStateInEtcd')).toBeLessThan(order.indexOf('promoteStandby'));
    expect(m.inputs('recordMemberStateInEtcd')[0]).toMatchObject({ member: 'g1-a', state: { state: 'fenced' } });
    expect(step(progress, 'fence').detail).toMatch(/lost by its peers for \d+ ms .*self-fence stopped/);
    // The members on the silent host are reported, not fatal; the others rejoin.
    const onSilent = ['g1-a', 'g1-c'].filter((x) => hostOf(x) === g1a);
    expect(result!.notRejoined).toEqual(onSilent.map((x) => `${x}: host ${g1a} does not answer`));
    expect(result!.rejoined).toEqual(['g1-a', 'g1-c'].filter((x) => hostOf(x) !== g1a));
  });

  test('a silent host its peers still reach is not fenced: refused, nothing promoted', async () => {
    const m = routed(
      {},
      {
        async observeHostReach({ host }) {
          return { host, verdict: 'reached' as const, at: Date.now(), detail: 'g2-b reaches it' };
        },
      },
    );
    const live = g1a === 'h1' ? 'h2' : 'h1';
    const { error } = await runWithHosts([live], 'failoverGroup', { cluster: name, group: 'g1' }, m.activities);
    expect(failureOf(error)).toMatchObject({ type: 'Refused', nonRetryable: true });
    expect(failureOf(error).message).toMatch(/cannot fence g1-a: .*peers reach it.*nothing was changed/);
    for (const n of ['promoteStandby', 'recordMemberStateInEtcd', 'pointCitusAt', 'recordPrimaryChange'] as const)
      expect({ n, calls: m.called(n).length }).toEqual({ n, calls: 0 });
  });
});

test("a worker group's switchover runs its critical section on the old primary's host", async () => {
  const m = routed();
  const { result, error } = await runWithHosts<SwitchoverGroupResult>(
    ['h1', 'h2'],
    'switchoverGroup',
    { cluster: name, group: 'g1' },
    m.activities,
  );
  expect(error).toBeUndefined();
  expect(result).toMatchObject({ oldPrimary: 'g1-a', newPrimary: 'g1-b' });
  expect(m.queueOf('switchoverCriticalSection')).toEqual([hostTaskQueue(hostOf('g1-a'))]);
  expect(m.queueOf('rejoinMember', 'g1-a')).toEqual([hostTaskQueue(hostOf('g1-a'))]);
});

test("rejoin rebuilds the member on its host's queue", async () => {
  const m = routed();
  const { error } = await runWithHosts(
    ['h1', 'h2'],
    'rejoinMemberWorkflow',
    { cluster: name, member: 'g2-b' },
    m.activities,
  );
  expect(error).toBeUndefined();
  expect(m.queueOf('rejoinMember')).toEqual([hostTaskQueue(hostOf('g2-b'))]);
});

test.each([
  [
    'switchoverGroup',
    { group: 'coordinator' },
    /a switchover of the coordinator group \(failover works\) does not work there yet/,
  ],
  ['unfenceMemberWorkflow', { member: 'g1-a' }, /only `citusctl up`, failover/],
  ['rebalanceCluster', {}, /only `citusctl up`, failover/],
  ['healthCheck', {}, /only `citusctl up`, failover/],
])('%s refuses a cluster on several hosts before any step acts', async (workflow, extra, why) => {
  const m = mockActivities({}, { stored: { [name]: severalHosts } });
  const { error } = await wf.run(workflow, { cluster: name, ...extra }, m.activities);
  expect(failureOf(error)).toMatchObject({ type: 'Refused', nonRetryable: true });
  expect(failureOf(error).message).toMatch(/runs on several hosts \(h1, h2\); /);
  expect(failureOf(error).message).toMatch(why);
  expect(
    m.calls.map((c) => c.name).filter((n) => !['loadClusterSpec', 'searchAttributesRegistered'].includes(n)),
  ).toEqual([]);
});
