/**
 * healthCheck against a real Temporal dev server with mocked observation activities: the report is
 * the workflow's result and what it stores; Citus is asked on the coordinator etcd names; a fault
 * degrades it; etcd refusing the report does not fail the check. And the schedule
 * (client/health-schedule.ts): created once, unchanged when ensured again, updated when the
 * interval changes, a trigger runs healthCheck on the resident task queue, and the cleanup of
 * `citusctl down` (stopClusterWorkflows) deletes it.
 */
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../activities';
import type { NodeObservation, NodeSqlView } from '../../common/health-observation';
import type { HealthReport } from '../../common/health-report';
import type { Progress } from '../../common/progress';
import { parseSpec, SpecError, type ClusterSpec } from '../../common/spec';
import { groupsOf, slotName } from '../../common/topology';
import { ensureHealthSchedule } from '../../client/health-schedule';
import { stopClusterWorkflows } from '../../client/stop-cluster-workflows';
import { TASK_QUEUE } from '../../lib/temporal-server';
import type { HealthCheckInput, HealthCheckResult } from '../../workflows';
import { SPEC_INPUT, uniqueClusterName, uniqueId } from './helpers';
import { mockActivities } from './mock-activities';
import { useWorkflowEnv } from './workflow-env';

jest.setTimeout(90_000);

const wf = useWorkflowEnv();

/** The activities healthCheck calls (the worker registers only these). */
type HealthActivities = Pick<
  Activities,
  | 'validateSpec'
  | 'healthNodes'
  | 'healthEtcd'
  | 'healthPgBouncer'
  | 'healthMonitor'
  | 'healthCitus'
  | 'storeHealthReport'
  | 'healthCertificates'
  | 'healthBackups'
>;

interface World {
  /** etcd's primaries (default: each group's first member). */
  primaries?: Record<string, string>;
  /** Members whose container is stopped. */
  stopped?: string[];
  /** etcd refuses writes. */
  storeFails?: boolean;
  /** Days left of the pgbouncer certificate (default 60). */
  pgbouncerDaysLeft?: number;
  /** The newest verification failed with these problems. */
  verificationFailed?: string[];
}

/** Mocked activities answering like a healthy cluster (changed by `world`), recording their inputs. */
function mockHealth(world: World = {}) {
  const calls: Array<{ name: string; input: unknown }> = [];
  const stored: HealthReport[] = [];
  const at = () => new Date().toISOString();
  const primaryOf = (spec: ClusterSpec, group: string) =>
    world.primaries?.[group] ?? groupsOf(spec).find((g) => g.group === group)!.primary.name;
  const sqlOf = (spec: ClusterSpec, member: string): NodeObservation['sql'] => {
    if (world.stopped?.includes(member)) return { ok: false, error: 'connect ECONNREFUSED' };
    const m = spec.members.find((x) => x.name === member)!;
    const primary = primaryOf(spec, m.group);
    const base: NodeSqlView = {
      ok: true,
      inRecovery: member !== primary,
      timeline: 1,
      lsn: '0/3000060',
      replayLsn: member !== primary ? '0/3000060' : null,
      receiver: null,
      replication: [],
      slots: [],
      syncNames: '',
    };
    if (member !== primary) return { ...base, receiver: { status: 'streaming', senderHost: primary } };
    const standbys = spec.members.filter(
      (x) => x.group === m.group && x.name !== primary && !world.stopped?.includes(x.name),
    );
    return {
      ...base,
      replication: standbys.map((s) => ({
        standby: s.name,
        state: 'streaming',
        syncState: 'quorum',
        lagBytes: 0,
        lagSeconds: null,
      })),
      slots: spec.members
        .filter((x) => x.group === m.group && x.name !== primary)
        .map((s) => ({
          name: slotName(s.name),
          active: !world.stopped?.includes(s.name),
          walStatus: 'reserved',
          retainedBytes: 0,
        })),
    };
  };
  const impl: HealthActivities = {
    async validateSpec(input) {
      try {
        return parseSpec(input);
      } catch (err) {
        if (err instanceof SpecError)
          throw ApplicationFailure.create({ type: 'BadConfig', message: err.message, nonRetryable: true });
        throw err;
      }
    },
    async healthNodes({ spec }) {
      return spec.members.map((m) => ({
        member: m.name,
        container: world.stopped?.includes(m.name) ? 'exited' : 'running',
        sql: sqlOf(spec, m.name),
        disk: world.stopped?.includes(m.name)
          ? { ok: false, error: 'container exited' }
          : { ok: true, path: '/v', usedBytes: 1e6, fsSizeBytes: 1e10, fsAvailBytes: 5e9 },
      }));
    },
    async healthEtcd({ spec }) {
      return {
        ok: true,
        version: '3.5.17',
        dbSizeBytes: 1,
        leader: '1',
        alarms: [],
        primaries: Object.fromEntries(groupsOf(spec).map((g) => [g.group, primaryOf(spec, g.group)])),
        memberStates: {},
      };
    },
    async healthPgBouncer({ spec }) {
      return { ok: true, database: { host: primaryOf(spec, 'coordinator'), paused: false }, pools: [] };
    },
    async healthMonitor({ workflowId }) {
      return {
        workflowId,
        status: 'RUNNING',
        view: { state: 'watching', maintenance: { cluster: false, groups: [] }, lastProbeAt: at() },
      };
    },
    async healthCitus({ spec, coordinator }) {
      const workers = spec.workers.map((g, i) => ({
        nodeid: i + 2,
        groupid: i + 1,
        nodename: primaryOf(spec, g),
        nodeport: 5432,
        noderole: 'primary',
        isactive: true,
        hasmetadata: true,
        metadatasynced: true,
      }));
      return {
        ok: true,
        coordinator,
        nodeHealth: { available: false, reason: 'not in this test' },
        distNodes: [
          {
            nodeid: 1,
            groupid: 0,
            nodename: coordinator,
            nodeport: 5432,
            noderole: 'primary',
            isactive: true,
            hasmetadata: true,
            metadatasynced: true,
          },
          ...workers,
        ],
      };
    },
    async healthCertificates() {
      const inDays = (d: number) => new Date(Date.now() + d * 86_400_000 + 3_600_000).toISOString();
      return {
        ok: true,
        certificates: [
          { id: 'ca', notAfter: inDays(3650) },
          { id: 'member-coord-a', notAfter: inDays(80) },
          { id: 'pgbouncer', notAfter: inDays(world.pgbouncerDaysLeft ?? 60) },
        ],
      };
    },
    async healthBackups({ primaries }) {
      const ago = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
      return {
        enabled: true,
        archive: Object.entries(primaries).map(([group, member]) => ({
          group,
          member,
          ok: true as const,
          currentWal: '000000010000000000000009',
          lastArchivedWal: '000000010000000000000008',
          lastArchivedTime: ago(0.1),
          failedCount: 0,
          lastFailedWal: null,
          lastFailedTime: null,
        })),
        repo: { ok: true as const, usedBytes: 1 << 20, fsSizeBytes: 100 << 20, fsAvailBytes: 90 << 20 },
        repoCreatedAt: ago(100),
        catalog: {
          ok: true as const,
          newestBackup: { id: 'b-1', finishedAt: ago(2), restorePoint: 'b-1', sizeBytes: 10, repoSizeBytes: 5 },
          newestRestorePoint: { name: 'p-1', createdAt: ago(0.2), origin: 'schedule' },
          newestVerification: {
            id: 'v-1',
            ok: !world.verificationFailed,
            finishedAt: ago(1),
            backupId: 'b-1',
            restorePoint: 'b-1',
            problems: world.verificationFailed ?? [],
          },
          newestOkVerification: world.verificationFailed
            ? { id: 'v-0', finishedAt: ago(20) }
            : { id: 'v-1', finishedAt: ago(1) },
        },
      };
    },
    async storeHealthReport({ spec, report }) {
      if (world.storeFails) throw ApplicationFailure.create({ type: 'NotReady', message: 'etcd: connection refused' });
      stored.push(report);
      return { key: `/citusctl/${spec.name}/health/last` };
    },
  };
  const activities = Object.fromEntries(
    Object.entries(impl).map(([name, fn]) => [
      name,
      async (input: unknown) => {
        calls.push({ name, input });
        return (fn as (i: unknown) => Promise<unknown>)(input);
      },
    ]),
  );
  // The workflow asks whether CitusCluster is registered (tagWorkflow): the shared mock answers, outside `calls`.
  const { searchAttributesRegistered } = mockActivities().activities;
  return {
    activities: { ...activities, searchAttributesRegistered },
    calls,
    stored,
    called: (name: string) => calls.filter((c) => c.name === name),
  };
}

const clusterName = () => uniqueClusterName('hc');

async function runHealth(world: World = {}) {
  const mock = mockHealth(world);
  const cluster = clusterName();
  const taskQueue = uniqueId('tq');
  // As `citusctl health` and the schedule start it: the cluster's name, its spec stored at setup.
  const { loadClusterSpec } = mockActivities(
    {},
    { stored: { [cluster]: { ...SPEC_INPUT, name: cluster } } },
  ).activities;
  const worker = await wf.worker(taskQueue, { ...mock.activities, loadClusterSpec });
  const { result, progress } = await worker.runUntil(async () => {
    const handle = await wf.client.workflow.start('healthCheck', {
      taskQueue,
      workflowId: `health-${cluster}-1`,
      args: [{ cluster } satisfies HealthCheckInput],
    });
    const r = (await handle.result()) as HealthCheckResult;
    return { result: r, progress: await handle.query<Progress>('progress') };
  });
  return { ...mock, result, progress, cluster };
}

test('a healthy cluster: healthy, every member reported, report stored, Citus asked on the coordinator', async () => {
  const { result, stored, called, progress, cluster } = await runHealth({ primaries: { coordinator: 'coord-b' } });
  expect(result.status).toBe('healthy');
  expect(result.problems).toEqual([]);
  expect(result.members.map((m) => m.name)).toEqual(['coord-a', 'coord-b', 'g1-a', 'g1-b', 'g1-c', 'g2-a', 'g2-b']);
  expect(result.members.find((m) => m.name === 'coord-a')).toMatchObject({
    role: 'standby',
    streaming: true,
    slot: 'citusctl_coord_a',
  });
  expect(result.stored).toEqual({ key: `/citusctl/${cluster}/health/last`, ok: true });
  const report: Partial<HealthCheckResult> = { ...result };
  delete report.stored;
  expect(stored).toEqual([report]); // etcd holds what the workflow returned
  expect(called('healthCitus').map((c) => (c.input as { coordinator: string }).coordinator)).toEqual(['coord-b']);
  expect(called('healthMonitor').map((c) => c.input)).toEqual([
    { workflowId: `monitor-${cluster}`, query: 'status', cluster },
  ]);
  expect(result.notes).toEqual(['citus: citus_check_cluster_node_health() unavailable (not in this test)']);
  expect(progress.steps.map((s) => `${s.name}:${s.state}`)).toEqual([
    'validate:done',
    'observe:done',
    'citus:done',
    'backups:done',
    'verdict:done',
    'store:done',
  ]);
});

test('a stopped standby and an etcd refusing the report: degraded, naming the member; the check ends', async () => {
  const { result, progress } = await runHealth({ stopped: ['g2-b'], storeFails: true });
  expect(result.status).toBe('degraded');
  expect(result.problems).toEqual([
    { component: 'member', subject: 'g2-b', message: 'container exited' },
    { component: 'group', subject: 'g2', message: expect.stringMatching(/^no synchronous standby/) },
  ]);
  expect(result.stored).toMatchObject({ ok: false, error: expect.stringMatching(/etcd: connection refused/) });
  expect(progress.steps.find((s) => s.name === 'store')?.state).toBe('failed');
});

test('a failed verification of the newest backup: degraded, naming it; archiving per group reported', async () => {
  const { result, called } = await runHealth({
    verificationFailed: ['public.demo: 5 rows, the restore point recorded 7'],
  });
  expect(result.status).toBe('degraded');
  expect(result.problems).toEqual([
    {
      component: 'backup',
      subject: 'verified restore',
      message: expect.stringMatching(/^the newest verification v-1 .* of backup b-1 failed: public.demo: 5 rows/),
    },
  ]);
  expect(result.backups?.groups.map((g) => [g.group, g.lagSegments, g.failing])).toEqual([
    ['coordinator', 0, false],
    ['g1', 0, false],
    ['g2', 0, false],
  ]);
  expect(called('healthBackups')).toHaveLength(1);
});

test('a certificate with 3 days left: degraded, naming it; the nearest expiry is in the report', async () => {
  const healthy = await runHealth();
  expect(healthy.result.certificates?.nearest).toMatchObject({ id: 'pgbouncer', daysLeft: 60 });
  const { result } = await runHealth({ pgbouncerDaysLeft: 3 });
  expect(result.status).toBe('degraded');
  expect(result.problems).toEqual([
    { component: 'certificate', subject: 'pgbouncer', message: expect.stringMatching(/^certificate expires in 3 day/) },
  ]);
  expect(result.certificates?.nearest).toMatchObject({ id: 'pgbouncer', daysLeft: 3 });
});

test('the schedule: created, unchanged, updated; a trigger runs healthCheck; `down` deletes it', async () => {
  const mock = mockHealth();
  const cluster = clusterName();
  const spec = parseSpec({ ...SPEC_INPUT, name: cluster });
  const { loadClusterSpec } = mockActivities(
    {},
    { stored: { [cluster]: { ...SPEC_INPUT, name: cluster } } },
  ).activities;
  const worker = await wf.worker(TASK_QUEUE, { ...mock.activities, loadClusterSpec });
  await worker.runUntil(async () => {
    expect(await ensureHealthSchedule(wf.client, spec)).toEqual({
      scheduleId: `health-${cluster}`,
      outcome: 'created',
    });
    expect(await ensureHealthSchedule(wf.client, spec)).toEqual({
      scheduleId: `health-${cluster}`,
      outcome: 'unchanged',
    });
    const handle = wf.client.schedule.getHandle(`health-${cluster}`);
    let d = await handle.describe();
    expect(d.spec.intervals?.map((i) => i.every)).toEqual([60_000]);
    expect(d.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(d.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'healthCheck',
      taskQueue: TASK_QUEUE,
      workflowId: `health-${cluster}`,
    });

    const slower = parseSpec({ ...SPEC_INPUT, name: cluster, health: { intervalSeconds: 300 } });
    expect(await ensureHealthSchedule(wf.client, slower)).toEqual({
      scheduleId: `health-${cluster}`,
      outcome: 'updated',
    });
    d = await handle.describe();
    expect(d.spec.intervals?.map((i) => i.every)).toEqual([300_000]);
    // Only the name: each run reads the stored spec (a group added or drained is followed).
    expect(d.action).toMatchObject({ args: [{ cluster }] });

    await handle.trigger();
    let runId: string | undefined;
    let workflowId: string | undefined;
    for (let i = 0; i < 200 && !runId; i++) {
      const a = (await handle.describe()).info.recentActions[0]?.action;
      if (a) ({ workflowId, firstExecutionRunId: runId } = a.workflow);
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(workflowId).toMatch(new RegExp(`^health-${cluster}-`));
    const result = (await wf.client.workflow.getHandle(workflowId!, runId).result()) as HealthCheckResult;
    expect(result).toMatchObject({ cluster, status: 'healthy', stored: { ok: true } });
  });

  const report = await stopClusterWorkflows(wf.client, cluster, { cancelWaitMs: 1_000 });
  expect(report.schedulesDeleted).toEqual([`health-${cluster}`]);
  await expect(wf.client.schedule.getHandle(`health-${cluster}`).describe()).rejects.toBeInstanceOf(
    ScheduleNotFoundError,
  );
});
