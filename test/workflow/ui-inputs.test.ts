/**
 * The inputs a user pastes into the Temporal UI, against a real dev server (with CitusCluster and
 * CitusGroup registered) and mocked activities: `{"spec":{"name":"demo"}}` and `{}` set up the
 * default layout with the images resolveImages found and store the spec; `{"cluster","group"}` /
 * `{"cluster","member"}` read the stored spec; an unknown cluster or a missing image fail
 * non-retryably before anything is changed; workflows started without search attributes set them
 * themselves; activity events carry one-line summaries.
 */
import { ApplicationFailure } from '@temporalio/common';
import { CITUS_CLUSTER, CITUS_GROUP, citusSearchAttributes } from '../../common/search-attributes';
import { parseSpec } from '../../common/spec';
import type {
  FailoverGroupResult,
  SetupClusterResult,
  SwitchoverGroupResult,
  UnfenceMemberResult,
} from '../../workflows';
import { decodedPayloads, historyToJson, SPEC_INPUT, uniqueId } from './helpers';
import { mockActivities, type MockedActivities, type Scenario } from './mock-activities';
import { failureOf, sequence, stateOf, step } from './runner';
import { useWorkflowEnv } from './workflow-env';

jest.setTimeout(60_000);

const wf = useWorkflowEnv({ searchAttributes: [CITUS_CLUSTER, CITUS_GROUP] });

/** The spec setup stored for cluster wftest (as the real setup stores it: validated, images resolved). */
const STORED = {
  stored: {
    wftest: {
      ...parseSpec(SPEC_INPUT),
      images: { postgres: 'citus-real:17', pgbouncer: 'citusctl/pgbouncer:1', etcd: 'citusctl/etcd:3.5' },
    },
  },
} satisfies Scenario;
const run = <R>(type: string, input: unknown, activities: Partial<MockedActivities>) =>
  wf.run<R>(type, input, activities);
/** Specs passed to activities after image resolution (refuseDroppedGroups, in validate, reads only the groups). */
const specsPassed = (m: ReturnType<typeof mockActivities>) =>
  m.calls
    .filter((c) => c.name !== 'refuseDroppedGroups')
    .map((c) => (c.input as { spec?: { name?: string; images?: unknown } })?.spec)
    .filter((s) => s !== undefined);

describe('setupCluster with small inputs', () => {
  test(
    '{"spec":{"name":"demo"}}: the default layout, with the resolved images from provisioning on, stored with ' +
      'the cluster',
    async () => {
      const m = mockActivities({
        async resolveImages() {
          return {
            images: { postgres: 'citus-real:17', pgbouncer: 'citusctl/pgbouncer:1', etcd: 'citusctl/etcd:3.5' },
            sources: { postgres: 'present', pgbouncer: 'offline', etcd: 'built' },
          };
        },
      });
      const { result, error, progress } = await run<SetupClusterResult>(
        'setupCluster',
        { spec: { name: 'demo' } },
        m.activities,
      );
      expect(error).toBeUndefined();
      expect(m.inputs('validateSpec')).toEqual([{ name: 'demo' }]);
      // loadClusterSpec: is a cluster "demo" set up here, with another spec? (none: a new cluster)
      expect(sequence(m.calls).slice(0, 6)).toEqual([
        'validateSpec',
        'loadClusterSpec',
        'refuseDroppedGroups',
        'resolveImages',
        'provisionCluster',
        'storeClusterSpec',
      ]);
      const resolvedFor = m.inputs('resolveImages')[0]!;
      expect(resolvedFor.members.map((x) => x.name)).toEqual(['coord-a', 'coord-b', 'g1-a', 'g1-b', 'g2-a', 'g2-b']);
      expect(resolvedFor.images).toEqual({});
      const images = { postgres: 'citus-real:17', pgbouncer: 'citusctl/pgbouncer:1', etcd: 'citusctl/etcd:3.5' };
      // Every activity after resolution runs the resolved images; the stored spec is that spec.
      expect(m.inputs('provisionCluster')[0]!.images).toEqual(images);
      expect(m.inputs('storeClusterSpec')).toEqual([{ ...parseSpec({ name: 'demo' }), images }]);
      expect(specsPassed(m).every((s) => JSON.stringify(s!.images) === JSON.stringify(images))).toBe(true);
      expect(step(progress, 'images')).toMatchObject({
        state: 'done',
        detail:
          'postgres citus-real:17 (present), pgbouncer citusctl/pgbouncer:1 (offline), etcd citusctl/etcd:3.5 (built)',
      });
      expect(result!.images).toEqual(images);
      expect(result!.cluster).toBe('demo');
    },
  );

  test('{}: the default cluster (validateSpec gets {} and fills every default)', async () => {
    const m = mockActivities();
    const { result, error } = await run<SetupClusterResult>('setupCluster', {}, m.activities);
    expect(error).toBeUndefined();
    expect(m.inputs('validateSpec')).toEqual([{}]);
    expect(result!.cluster).toBe('demo');
    expect(result!.primaries).toEqual({ coordinator: 'coord-a', workers: { g1: 'g1-a', g2: 'g2-a' } });
  });

  test('a missing image fails the setup at "images", non-retryably, before anything is provisioned', async () => {
    const message =
      'Missing: a PostgreSQL image with Citus. citusdata/citus:13.0 is not present and cannot be pulled (no such host)';
    const m = mockActivities({
      async resolveImages() {
        throw ApplicationFailure.create({ type: 'ImageMissing', message, nonRetryable: true });
      },
    });
    const { error, progress } = await run<SetupClusterResult>('setupCluster', { spec: { name: 'demo' } }, m.activities);
    expect(failureOf(error)).toMatchObject({ type: 'ImageMissing', nonRetryable: true, message });
    expect(m.called('resolveImages')).toHaveLength(1); // never retried
    expect(sequence(m.calls)).toEqual(['validateSpec', 'loadClusterSpec', 'refuseDroppedGroups', 'resolveImages']);
    expect(stateOf(progress)).toMatchObject({ validate: 'done', images: 'failed', provision: 'pending' });
    expect(step(progress, 'images').detail).toBe(message);
  });

  test('{"cluster": ...} without a spec reruns the setup of a cluster from its stored spec', async () => {
    const m = mockActivities({}, STORED);
    const { result, error } = await run<SetupClusterResult>('setupCluster', { cluster: 'wftest' }, m.activities);
    expect(error).toBeUndefined();
    expect(m.called('validateSpec')).toHaveLength(0);
    expect(m.inputs('loadClusterSpec')).toEqual([{ cluster: 'wftest' }]);
    expect(result!.cluster).toBe('wftest');
  });
});

describe('{cluster, group} and {cluster, member} inputs read the stored spec', () => {
  test('failoverGroup {"cluster":"wftest","group":"g1"}: the stored spec drives the whole failover', async () => {
    const m = mockActivities({}, STORED);
    const { result, error, progress } = await run<FailoverGroupResult>(
      'failoverGroup',
      { cluster: 'wftest', group: 'g1' },
      m.activities,
    );
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ outcome: 'failed-over', oldPrimary: 'g1-a', newPrimary: 'g1-b' });
    expect(m.inputs('loadClusterSpec')).toEqual([{ cluster: 'wftest' }]);
    expect(m.called('validateSpec')).toHaveLength(0);
    expect(specsPassed(m).length).toBeGreaterThan(5);
    expect(
      specsPassed(m).every(
        (s) => s!.name === 'wftest' && (s!.images as { postgres: string }).postgres === 'citus-real:17',
      ),
    ).toBe(true);
    expect(step(progress, 'validate').state).toBe('done');
  });

  test('switchoverGroup {"cluster","group","to"}', async () => {
    const m = mockActivities({}, STORED);
    const { result, error } = await run<SwitchoverGroupResult>(
      'switchoverGroup',
      { cluster: 'wftest', group: 'g1', to: 'g1-c' },
      m.activities,
    );
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ oldPrimary: 'g1-a', newPrimary: 'g1-c' });
    expect(m.inputs('loadClusterSpec')).toEqual([{ cluster: 'wftest' }]);
  });

  test('rejoinMemberWorkflow and unfenceMemberWorkflow {"cluster","member"}', async () => {
    const m = mockActivities({}, STORED);
    const rejoin = await run<{ primary: string; streaming: string[] }>(
      'rejoinMemberWorkflow',
      { cluster: 'wftest', member: 'g1-b' },
      m.activities,
    );
    expect(rejoin.error).toBeUndefined();
    expect(rejoin.result).toMatchObject({ primary: 'g1-a', streaming: ['g1-b'] });
    const unfence = await run<UnfenceMemberResult>(
      'unfenceMemberWorkflow',
      { cluster: 'wftest', member: 'g2-b' },
      m.activities,
    );
    expect(unfence.error).toBeUndefined();
    expect(unfence.result).toMatchObject({ member: 'g2-b', primary: 'g2-a', action: 'rejoined-as-standby' });
    expect(m.inputs('loadClusterSpec')).toEqual([{ cluster: 'wftest' }, { cluster: 'wftest' }]);
  });

  test.each([
    ['failoverGroup', { cluster: 'nope', group: 'g1' }],
    ['switchoverGroup', { cluster: 'nope', group: 'g1' }],
    ['rejoinMemberWorkflow', { cluster: 'nope', member: 'g1-b' }],
    ['unfenceMemberWorkflow', { cluster: 'nope', member: 'g1-b' }],
    ['healthCheck', { cluster: 'nope' }],
  ])('%s of a cluster never set up here fails with UnknownCluster, having taken no lock', async (type, input) => {
    const m = mockActivities({}, STORED);
    const { error, progress } = await run(type, input, m.activities);
    expect(failureOf(error)).toMatchObject({
      type: 'UnknownCluster',
      nonRetryable: true,
      message: 'no cluster nope set up here',
    });
    expect(sequence(m.calls)).toEqual(['loadClusterSpec']);
    expect(step(progress, 'validate').state).toBe('failed');
  });

  test(
    'monitorCluster {"cluster":...} reads the stored spec first: a cluster never set up here fails with ' +
      'UnknownCluster, nothing probed',
    async () => {
      const m = mockActivities({}, STORED);
      const taskQueue = uniqueId('tq');
      const worker = await wf.worker(taskQueue, m.activities);
      const handle = await wf.client.workflow.start('monitorCluster', {
        taskQueue,
        workflowId: uniqueId('monitor'),
        args: [{ cluster: 'nope' }],
      });
      const error = await worker.runUntil(
        handle.result().then(
          () => undefined,
          (err: unknown) => err,
        ),
      );
      expect(failureOf(error)).toMatchObject({
        type: 'UnknownCluster',
        nonRetryable: true,
        message: 'no cluster nope set up here',
      });
      expect(sequence(m.calls)).toEqual(['loadClusterSpec']);
    },
  );

  test('neither a spec nor a cluster, or both naming other clusters: BadConfig naming the field, no step', async () => {
    const m = mockActivities({}, STORED);
    const neither = await run('failoverGroup', { group: 'g1' }, m.activities);
    expect(failureOf(neither.error)).toMatchObject({
      type: 'BadConfig',
      message: expect.stringContaining('cluster: required: name the cluster'),
    });
    const both = await run('switchoverGroup', { cluster: 'other', spec: SPEC_INPUT, group: 'g1' }, m.activities);
    expect(failureOf(both.error)).toMatchObject({
      type: 'BadConfig',
      message: expect.stringContaining('cluster: "other" and spec.name "wftest" differ'),
    });
    expect(m.calls).toEqual([]);
  });

  test('a whole spec equal to the stored one works and runs on the stored spec (its resolved images)', async () => {
    const m = mockActivities({}, STORED);
    const { error } = await run<FailoverGroupResult>('failoverGroup', { spec: SPEC_INPUT, group: 'g1' }, m.activities);
    expect(error).toBeUndefined();
    expect(sequence(m.calls).slice(0, 3)).toEqual(['validateSpec', 'loadClusterSpec', 'acquireGroupLock']);
    expect(specsPassed(m).every((s) => (s!.images as { postgres?: string }).postgres === 'citus-real:17')).toBe(true);
  });

  test('a whole spec that differs from the stored one is refused naming the fields, before any lock', async () => {
    const m = mockActivities({}, STORED);
    const other = {
      ...SPEC_INPUT,
      members: SPEC_INPUT.members.map((x) => (x.name === 'g1-b' ? { ...x, port: 16000 } : x)),
      images: { postgres: 'other:1' },
    };
    const { error, progress } = await run('failoverGroup', { spec: other, group: 'g1' }, m.activities);
    const f = failureOf(error);
    expect(f).toMatchObject({ type: 'BadConfig', nonRetryable: true });
    expect(f.message).toContain('spec: differs from the stored spec of wftest');
    expect(f.message).toContain('images.postgres (given "other:1", stored "citus-real:17")');
    expect(f.message).toContain('members[3].port (given 16000, stored 15435)');
    expect(sequence(m.calls)).toEqual(['validateSpec', 'loadClusterSpec']);
    expect(step(progress, 'validate').state).toBe('failed');
  });

  test('a whole spec of a cluster not set up here still works (nothing stored to differ from)', async () => {
    const m = mockActivities();
    const { error } = await run<FailoverGroupResult>('failoverGroup', { spec: SPEC_INPUT, group: 'g1' }, m.activities);
    expect(error).toBeUndefined();
    expect(m.inputs('loadClusterSpec')).toEqual([{ cluster: 'wftest' }]);
  });
});

describe('readable histories', () => {
  const attributesOf = async (workflowId: string) =>
    (await wf.client.workflow.getHandle(workflowId).describe()).typedSearchAttributes;

  test('started without search attributes (the UI): the workflow sets CitusCluster and CitusGroup itself', async () => {
    const m = mockActivities({}, { ...STORED, searchAttributes: true });
    const { error, handle } = await run<FailoverGroupResult>(
      'failoverGroup',
      { cluster: 'wftest', group: 'g1' },
      m.activities,
    );
    expect(error).toBeUndefined();
    const attrs = await attributesOf(handle.workflowId);
    expect(attrs.get(CITUS_CLUSTER)).toBe('wftest');
    expect(attrs.get(CITUS_GROUP)).toBe('g1');
    expect(m.lookups).toEqual([handle.workflowId]);
    // And the server filters by them.
    const listed: string[] = [];
    for await (const w of wf.client.workflow.list({
      query: `CitusCluster = "wftest" AND CitusGroup = "g1" AND WorkflowId = "${handle.workflowId}"`,
    }))
      listed.push(w.workflowId);
    expect(listed).toEqual([handle.workflowId]);
  });

  test('when the namespace lacks them (the lookup says no), nothing is set and the workflow completes', async () => {
    const m = mockActivities({}, { ...STORED, searchAttributes: false });
    const { error, handle } = await run<FailoverGroupResult>(
      'failoverGroup',
      { cluster: 'wftest', group: 'g1' },
      m.activities,
    );
    expect(error).toBeUndefined();
    expect((await attributesOf(handle.workflowId)).get(CITUS_CLUSTER)).toBeUndefined();
  });

  test('started with them (the CLI, the monitor, the schedule): no lookup', async () => {
    const m = mockActivities({}, { ...STORED, searchAttributes: true });
    const taskQueue = uniqueId('tq');
    const worker = await wf.worker(taskQueue, m.activities);
    const handle = await wf.client.workflow.start('switchoverGroup', {
      taskQueue,
      workflowId: uniqueId('switchover'),
      args: [{ cluster: 'wftest', group: 'g2' }],
      typedSearchAttributes: citusSearchAttributes('wftest', 'g2'),
    });
    await worker.runUntil(handle.result());
    expect(m.lookups).toEqual([]);
    expect((await attributesOf(handle.workflowId)).get(CITUS_GROUP)).toBe('g2');
  });

  test('activity events carry one-line summaries ("promote g1-b", "fence g1-a", "load rows ...")', async () => {
    const f = mockActivities({}, STORED);
    const failover = await run<FailoverGroupResult>('failoverGroup', { cluster: 'wftest', group: 'g1' }, f.activities);
    const s = mockActivities();
    const setup = await run<SetupClusterResult>('setupCluster', { spec: SPEC_INPUT }, s.activities);
    const summaries = async (h: typeof failover.handle) => {
      const json = historyToJson(await h.fetchHistory());
      type Ev = {
        activityTaskScheduledEventAttributes?: { activityType: { name: string } };
        userMetadata?: { summary?: { data: string } };
      };
      const events = (JSON.parse(json) as { events: Ev[] }).events.filter(
        (e) => e.activityTaskScheduledEventAttributes,
      );
      return { events, decoded: decodedPayloads(json) };
    };
    const fo = await summaries(failover.handle);
    expect(fo.events.every((e) => e.userMetadata?.summary)).toBe(true); // every activity of the failover has one
    const foText = fo.events.map(
      (e) => JSON.parse(Buffer.from(e.userMetadata!.summary!.data, 'base64').toString('utf8')) as string,
    );
    expect(foText).toEqual(
      expect.arrayContaining([
        'load the stored spec of wftest',
        'lock g1',
        'probe g1-a (3x)',
        'fence g1-a',
        'promote g1-b',
        'point Citus from g1-a to g1-b',
        'rejoin g1-c to g1-b',
      ]),
    );
    const su = await summaries(setup.handle);
    const suText = su.events.map(
      (e) => JSON.parse(Buffer.from(e.userMetadata!.summary!.data, 'base64').toString('utf8')) as string,
    );
    expect(suText).toEqual(
      expect.arrayContaining([
        'validate the spec of wftest',
        'resolve images for wftest',
        'register g1-a, g2-a',
        'load rows 1-1000 into events',
        'prepare coord-a',
        'g1-b follows g1-a',
      ]),
    );
    for (const line of [...foText, ...suText]) expect(line).not.toMatch(/\n|password|secret/i);
  });
});
