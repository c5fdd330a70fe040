/**
 * Every workflow checks its whole input before any activity runs, against a real dev server with
 * mocked activities: a malformed input from the Temporal UI ends the run Failed at once with a
 * non-retryable BadConfig naming the field, and no activity ran (so nothing changed). A group or
 * member not in the stored spec fails after the spec is read and before anything is locked. A
 * setup from the UI with a spec other than the stored one is refused naming the difference,
 * unless the input declares the change. And the net: an error in workflow code fails the workflow
 * instead of its task being retried for ever, and such a stuck workflow is found by its cluster.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { parseSpec } from '../../common/spec';
import { WORKFLOW_FAILURE_ERROR_TYPES } from '../../common/workflow-failure';
import { stuckClusterWorkflows } from '../../lib/cluster-workflow-list';
import type { SetupClusterResult } from '../../workflows';
import { SPEC_INPUT, uniqueId, workflowBundle } from './helpers';
import { mockActivities, type Scenario } from './mock-activities';
import { failureOf, sequence, step } from './runner';
import { useWorkflowEnv } from './workflow-env';

jest.setTimeout(90_000);

const wf = useWorkflowEnv();
let bugs: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  bugs = await workflowBundle(require.resolve('./bug-workflows'));
});

/** wftest is set up here (its spec stored, images resolved). */
const STORED = {
  stored: {
    wftest: {
      ...parseSpec(SPEC_INPUT),
      images: { postgres: 'citus-real:17', pgbouncer: 'citusctl/pgbouncer:1', etcd: 'citusctl/etcd:3.5' },
    },
  },
} satisfies Scenario;

/**
 * Starts `type` with `input` exactly as given (undefined: no
 * input at all, as `temporal workflow start` without --input).
 */
async function runRaw(type: string, input: unknown, m = mockActivities({}, STORED)) {
  const taskQueue = uniqueId('tq');
  const worker = await wf.worker(taskQueue, m.activities, {
    workflowFailureErrorTypes: { '*': [...WORKFLOW_FAILURE_ERROR_TYPES] },
  });
  const handle = await wf.client.workflow.start(type, {
    taskQueue,
    workflowId: uniqueId(type),
    args: input === undefined ? [] : [input],
  });
  const error = await worker.runUntil(
    handle.result().then(
      () => undefined,
      (err: unknown) => err,
    ),
  );
  return { error, m, handle };
}

describe('a malformed input fails the run at once, naming the field, and no activity runs', () => {
  test.each<[string, string, unknown, RegExp]>([
    ['failoverGroup', '{}', {}, /invalid input of failoverGroup: .*group: required.*cluster: required/],
    ['rejoinMemberWorkflow', '{}', {}, /invalid input of rejoinMemberWorkflow: .*member: required/],
    [
      'drainGroup',
      'transferMode "x"',
      { cluster: 'wftest', group: 'g2', transferMode: 'x' },
      /transferMode: the string "x" is not one of "auto", "force_logical", "block_writes"/,
    ],
    [
      'drainGroup',
      'volumes "false"',
      { cluster: 'wftest', group: 'g2', volumes: 'false' },
      /volumes: expected true or false, got the string "false"/,
    ],
    [
      'setupCluster',
      'no input',
      undefined,
      /invalid input of setupCluster: input: expected a JSON object, got nothing/,
    ],
    [
      'setupCluster',
      'clean "no"',
      { spec: { name: 'wftest' }, clean: 'no' },
      /clean: expected true or false, got the string "no"/,
    ],
    ['setupCluster', 'a bad spec', { spec: { name: 'wftest', pgbouncer: { port: 'x' } } }, /spec\.pgbouncer\.port: /],
    [
      'switchoverGroup',
      'an unknown key',
      { cluster: 'wftest', group: 'g1', target: 'g1-b' },
      /input: unknown key\(s\) "target"/,
    ],
    [
      'unfenceMemberWorkflow',
      'a number for a name',
      { cluster: 'wftest', member: 7 },
      /member: expected a string, got number 7/,
    ],
    ['rebalanceCluster', 'transferMode "x"', { cluster: 'wftest', transferMode: 'x' }, /transferMode: /],
    ['healthCheck', 'no input', undefined, /input: expected a JSON object/],
    ['monitorCluster', '{}', {}, /invalid input of monitorCluster: cluster: required/],
    [
      'monitorCluster',
      'a bad tuning',
      { cluster: 'wftest', tuning: { periodMs: 'fast' } },
      /tuning\.periodMs: expected a number/,
    ],
  ])('%s with %s', async (type, _what, input, message) => {
    const { error, m } = await runRaw(type, input);
    const f = failureOf(error);
    expect(f).toMatchObject({ type: 'BadConfig', nonRetryable: true });
    expect(f.message).toMatch(message);
    expect(m.calls).toEqual([]);
  });

  test('the progress query shows the validate step failed with the reason', async () => {
    const { error, progress } = await wf.run(
      'drainGroup',
      { cluster: 'wftest', group: 'g2', transferMode: 'x' },
      mockActivities({}, STORED).activities,
    );
    expect(failureOf(error).type).toBe('BadConfig');
    expect(step(progress, 'validate')).toMatchObject({
      state: 'failed',
      detail: expect.stringContaining('transferMode'),
    });
    expect(step(progress, 'mark').state).toBe('pending');
  });
});

describe('groups and members are checked against the stored spec, before any lock', () => {
  test.each<[string, unknown, RegExp]>([
    [
      'failoverGroup',
      { cluster: 'wftest', group: 'g9' },
      /group: unknown group g9 \(groups of wftest: coordinator, g1, g2\)/,
    ],
    ['rejoinMemberWorkflow', { cluster: 'wftest', member: 'g9-a' }, /member: unknown member g9-a/],
    [
      'failoverGroup',
      { cluster: 'wftest', group: 'g1', candidates: ['g2-b'] },
      /candidates\[0\]: g2-b is not a member of g1/,
    ],
    ['drainGroup', { cluster: 'wftest', group: 'coordinator' }, /group: the coordinator group cannot be drained/],
  ])('%s %j', async (type, input, message) => {
    const { error, m } = await runRaw(type, input);
    const f = failureOf(error);
    expect(f).toMatchObject({ type: 'BadConfig', nonRetryable: true });
    expect(f.message).toMatch(message);
    expect(sequence(m.calls)).toEqual(['loadClusterSpec']);
  });

  test('a cluster not set up here: UnknownCluster, nothing else', async () => {
    const { error, m } = await runRaw('drainGroup', { cluster: 'nope', group: 'g2' });
    expect(failureOf(error)).toMatchObject({ type: 'UnknownCluster', nonRetryable: true });
    expect(sequence(m.calls)).toEqual(['loadClusterSpec']);
  });
});

describe('setupCluster of an existing cluster accepts another spec only as a declared change', () => {
  const edited = { ...SPEC_INPUT, demo: { rows: 5000, shardCount: 8 }, pgbouncer: { port: 16432 } };

  test('from the UI, a spec that differs from the stored one is refused naming fields, before any step', async () => {
    const { error, m } = await runRaw('setupCluster', { spec: edited });
    const f = failureOf(error);
    expect(f).toMatchObject({ type: 'BadConfig', nonRetryable: true });
    expect(f.message).toMatch(
      /^spec: differs from the stored spec of wftest: demo\.rows \(given 5000, stored 1000\); /,
    );
    expect(f.message).toMatch(/stored 1000\); pgbouncer\.port \(given 16432, stored 6432\)\./);
    expect(sequence(m.calls)).toEqual(['validateSpec', 'loadClusterSpec']);
  });

  test('the stored spec again (a rerun from the UI) is accepted', async () => {
    const { error, m } = await runRaw('setupCluster', { spec: SPEC_INPUT });
    expect(error).toBeUndefined();
    expect(m.called('provisionCluster')).toHaveLength(1);
  });

  test('declared (`citusctl up` of an edited file): accepted, and stored', async () => {
    const { error, m } = await runRaw('setupCluster', { spec: edited, applySpecChange: true });
    expect(error).toBeUndefined();
    expect(m.called('loadClusterSpec')).toHaveLength(0);
    expect(m.inputs('storeClusterSpec')[0]).toMatchObject({ demo: { rows: 5000 }, pgbouncer: { port: 16432 } });
  });

  test('a new cluster needs no declaration', async () => {
    const { error } = await runRaw('setupCluster', { spec: { ...SPEC_INPUT, name: 'wfnew' } });
    expect(error).toBeUndefined();
  });

  test('failoverGroup with a spec other than the stored one is refused the same way', async () => {
    const { error, m } = await runRaw('failoverGroup', { spec: edited, group: 'g1' });
    expect(failureOf(error).message).toMatch(/^spec: differs from the stored spec of wftest: demo\.rows/);
    expect(sequence(m.calls)).toEqual(['validateSpec', 'loadClusterSpec']);
  });

  test('the monitor started with a spec other than the stored one is refused before it probes', async () => {
    const { error, m } = await runRaw('monitorCluster', { spec: edited });
    expect(failureOf(error).message).toMatch(/^spec: differs from the stored spec of wftest/);
    expect(sequence(m.calls)).toEqual(['validateSpec', 'loadClusterSpec']);
  });
});

describe('the net: an error in workflow code fails the workflow, not only its task', () => {
  async function start(type: string, args: unknown[], net: boolean, workflowId = uniqueId(type)) {
    const taskQueue = uniqueId('tq');
    const worker = await Worker.create({
      connection: wf.env.nativeConnection,
      taskQueue,
      workflowBundle: bugs,
      ...(net ? { workflowFailureErrorTypes: { '*': [...WORKFLOW_FAILURE_ERROR_TYPES] } } : {}),
    });
    const handle = await wf.client.workflow.start(type, { taskQueue, workflowId, args });
    return { worker, handle };
  }

  test.each([
    ['readsMissingInput', [], /Cannot read properties of undefined/],
    ['breaksAnInvariant', [], /not an LSN: banana/],
  ])('%s ends Failed with the worker option', async (type, args, message) => {
    const { worker, handle } = await start(type, args, true);
    const error = await worker.runUntil(
      handle.result().then(
        () => undefined,
        (err: unknown) => err,
      ),
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(String((error as WorkflowFailedError).cause?.message)).toMatch(message);
  });

  test('without it (or a plain Error) the task is retried, stays Running; stuckClusterWorkflows names it', async () => {
    const cluster = uniqueId('wfstuck')
      .replace(/[^a-z0-9-]/g, '')
      .slice(0, 20);
    const { worker, handle } = await start('throwsPlainError', [], true, `failover-${cluster}-g1`);
    const other = await start('readsMissingInput', [], false, `rejoin-${cluster}-g1-a`);
    await worker.runUntil(
      other.worker.runUntil(async () => {
        for (;;) {
          const attempts = await Promise.all(
            [handle, other.handle].map(async (h) => (await h.describe()).raw.pendingWorkflowTask?.attempt ?? 0),
          );
          if (attempts.every((a) => a > 1)) break;
          await new Promise((r) => setTimeout(r, 200));
        }
      }),
    );
    expect((await handle.describe()).status.name).toBe('RUNNING');
    const stuck = await stuckClusterWorkflows(wf.client, cluster);
    expect(stuck.map((w) => w.workflowId).sort()).toEqual([`failover-${cluster}-g1`, `rejoin-${cluster}-g1-a`]);
    expect(stuck.find((w) => w.type === 'throwsPlainError')).toMatchObject({
      attempt: expect.any(Number),
      failure: expect.stringContaining('plain error from workflow code'),
    });
    expect(stuck.find((w) => w.type === 'readsMissingInput')!.failure).toMatch(/Cannot read properties of undefined/);
    expect(await stuckClusterWorkflows(wf.client, `${cluster}x`)).toEqual([]);
    for (const h of [handle, other.handle]) await h.terminate('test over');
  });
});

test('the result type still checks: a declared change returns the setup result', async () => {
  const { error, handle } = await runRaw('setupCluster', { spec: { ...SPEC_INPUT, name: 'wfres' } });
  expect(error).toBeUndefined();
  expect(((await handle.result()) as SetupClusterResult).cluster).toBe('wfres');
});
