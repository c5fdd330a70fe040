/**
 * A failover told by the cluster's monitor that the old primary's host is lost (common/host-loss.ts):
 * it does not ask that host's queue, dates the loss from the monitor's word, and still looks at the
 * peers itself; the fence still waits for the self-fence deadline from the start of the loss. The
 * same word from anyone else (the UI, a script) is ignored. Both hosts' workers run here, so a
 * failover that asks the host's queue is served there (the host only "is lost" for the mocks).
 */
import type { Worker } from '@temporalio/worker';
import { hostOfContainer } from '../../common/addressing';
import type { FailoverGroupInput } from '../../common/inputs';
import type { Progress } from '../../common/progress';
import { SHORT_WAIT_MAX_MS } from '../../common/short-wait';
import { parseSpec } from '../../common/spec';
import { hostTaskQueue } from '../../common/task-queues';
import { monitorWorkflowId } from '../../common/workflow-ids';
import type { FailoverGroupResult } from '../../workflows';
import { SEVERAL_HOSTS_INPUT, uniqueId } from './helpers';
import { mockActivities, type Scenario } from './mock-activities';
import { step } from './runner';
import { useWorkflowEnv } from './workflow-env';

jest.setTimeout(90_000);

const wf = useWorkflowEnv({ workflowsPath: require.resolve('./child-failover-workflows') });

const severalHosts = SEVERAL_HOSTS_INPUT;
const spec = parseSpec(severalHosts);
const lostHost = hostOfContainer(spec, 'g1-a').name;

/** failoverGroup as the child of a workflow with id `parentId`, workers on the shared and both host queues. */
async function failoverUnder(parentId: string, input: FailoverGroupInput, scenario: Scenario = {}) {
  const m = mockActivities({}, { stored: { [spec.name]: severalHosts }, ...scenario });
  const taskQueue = uniqueId('tq');
  const workers: Worker[] = await Promise.all(
    [taskQueue, hostTaskQueue('h1'), hostTaskQueue('h2')].map((q) => wf.worker(q, m.activities)),
  );
  const run = async () => {
    const handle = await wf.client.workflow.start('failoverAsChild', {
      taskQueue,
      workflowId: parentId,
      args: [input],
    });
    const result = await handle.result().then(
      (r: FailoverGroupResult) => ({ result: r, error: undefined as unknown }),
      (error: unknown) => ({ result: undefined, error }),
    );
    const progress = await wf.client.workflow.getHandle(`${parentId}-failover`).query<Progress>('progress');
    return { ...result, progress };
  };
  const outcome = await workers.reduce<() => ReturnType<typeof run>>((inner, w) => () => w.runUntil(inner()), run)();
  return { ...outcome, m };
}

const hint = (lostForMs: number) => ({ member: 'g1-a', host: lostHost, lostForMs });

test("the monitor's word: the host's queue is not asked, one look at the peers, fenced at once", async () => {
  const { result, error, progress, m } = await failoverUnder(monitorWorkflowId(spec.name), {
    cluster: spec.name,
    group: 'g1',
    hostLoss: hint(3000),
  });
  expect(error).toBeUndefined();
  expect(result).toMatchObject({ outcome: 'failed-over', oldPrimary: 'g1-a', newPrimary: 'g1-b' });
  // One SQL probe of its own: the monitor's failed for seconds.
  expect(m.inputs('probeMember')).toEqual([expect.objectContaining({ member: 'g1-a', engine: false, probes: 1 })]);
  expect(m.called('fenceMember')).toEqual([]);
  expect(m.called('observeHostReach')).toHaveLength(1);
  expect(m.inputs('recordMemberStateInEtcd')[0]).toMatchObject({ member: 'g1-a', state: { state: 'fenced' } });
  expect(step(progress, 'confirm-down').detail).toMatch(/host .* lost \(the monitor\)/);
  expect(step(progress, 'fence').detail).toMatch(/lost by its peers for \d+ ms .*self-fence stopped/);
});

test('a loss the monitor saw only briefly: the fence still waits for the deadline and looks again', async () => {
  const parentId = monitorWorkflowId(spec.name);
  const { result, error, m } = await failoverUnder(parentId, {
    cluster: spec.name,
    group: 'g1',
    hostLoss: hint(0),
  });
  expect(error).toBeUndefined();
  expect(result).toMatchObject({ outcome: 'failed-over', newPrimary: 'g1-b' });
  expect(m.called('fenceMember')).toEqual([]);
  expect(m.called('observeHostReach').length).toBeGreaterThanOrEqual(2);
  // The waits for the deadline run in a worker: a workflow timer fires up to a second late.
  expect(m.called('shortWait').length).toBeGreaterThanOrEqual(1);
  const history = await wf.client.workflow.getHandle(`${parentId}-failover`).fetchHistory();
  const timersMs = (history.events ?? []).flatMap((e) => {
    const t = e.timerStartedEventAttributes?.startToFireTimeout;
    return t ? [Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6] : [];
  });
  expect(timersMs.filter((ms) => ms <= SHORT_WAIT_MAX_MS)).toEqual([]); // the lock's renewal keeps its 10 s one
});

test.each([
  ['not from the monitor', 'ui-started', hint(60_000), /ignored: not started by the cluster's monitor/],
  ['about another member', 'MONITOR', { ...hint(60_000), member: 'g1-b' }, /ignored: about g1-b on/],
])('the word %s is ignored: the host is asked and fences its primary', async (_, parent, hostLoss, why) => {
  const parentId = parent === 'MONITOR' ? monitorWorkflowId(spec.name) : uniqueId(parent);
  const { result, error, progress, m } = await failoverUnder(parentId, { cluster: spec.name, group: 'g1', hostLoss });
  expect(error).toBeUndefined();
  expect(result).toMatchObject({ outcome: 'failed-over', newPrimary: 'g1-b' });
  expect(m.inputs('probeMember').filter((p) => p.engine !== false)).toEqual([expect.objectContaining({ probes: 3 })]);
  expect(m.inputs('fenceMember')).toEqual([expect.objectContaining({ member: 'g1-a' })]);
  expect(m.called('recordMemberStateInEtcd')).toEqual([]);
  expect(step(progress, 'confirm-down').detail).toMatch(why);
});

describe('with the spec in its input, as the monitor starts it', () => {
  const monitored = (over: Partial<FailoverGroupInput> = {}): FailoverGroupInput => ({
    spec: severalHosts,
    group: 'g1',
    hostLoss: hint(3000),
    ...over,
  });

  test('the look at the lost host begins before the lock, and is the only one', async () => {
    const { result, error, m } = await failoverUnder(monitorWorkflowId(spec.name), monitored());
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ outcome: 'failed-over', oldPrimary: 'g1-a', newPrimary: 'g1-b' });
    const order = m.calls.map((c) => c.name);
    expect(order.indexOf('probeMember')).toBeLessThan(order.indexOf('acquireGroupLock'));
    expect(order.indexOf('observeHostReach')).toBeLessThan(order.indexOf('acquireGroupLock'));
    expect(m.inputs('probeMember')).toEqual([expect.objectContaining({ member: 'g1-a', engine: false, probes: 1 })]);
    expect(m.called('observeHostReach')).toHaveLength(1);
  });

  test('a loss the monitor saw only now: the peers are asked a little later (their answer takes ~1 s)', async () => {
    const { result, error, m } = await failoverUnder(monitorWorkflowId(spec.name), monitored({ hostLoss: hint(0) }));
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ outcome: 'failed-over', newPrimary: 'g1-b' });
    const order = m.calls.map((c) => c.name);
    expect(order.indexOf('probeMember')).toBeLessThan(order.indexOf('acquireGroupLock'));
    expect(m.inputs('shortWait')[0]).toEqual({ ms: 300 }); // 1300 ms less a look's second
    expect(order.indexOf('shortWait')).toBeLessThan(order.indexOf('observeHostReach'));
  });

  test('etcd names another primary under the lock: the early look is not used, the failover looks itself', async () => {
    const primaries = { coordinator: 'coord-a', workers: { g1: 'g1-b', g2: 'g2-a' } };
    const { progress, m } = await failoverUnder(monitorWorkflowId(spec.name), monitored(), { primaries });
    expect(m.inputs('probeMember').map((p) => p.member)).toEqual(expect.arrayContaining(['g1-a', 'g1-b']));
    expect(step(progress, 'confirm-down').detail).toMatch(/ignored: about g1-a on .*, not g1-b/);
  });
});
