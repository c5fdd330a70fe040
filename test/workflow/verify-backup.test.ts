/**
 * verifyBackup against a real Temporal dev server with mocked activities and a stand-in restore
 * child (verify-backup-workflows.ts): a good restore is recorded ok and the scratch cluster
 * removed; a wrong row count, a failed restore and a missing restore point are recorded as failed
 * verifications and fail the workflow (non-retryable), the scratch cluster removed all the same;
 * a cancelled verification removes the scratch cluster and records nothing; no backup yet: nothing
 * restored, nothing recorded. And the Schedule `verify-backup-<cluster>`.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, WorkflowFailedError } from '@temporalio/client';
import { stopClusterWorkflows } from '../../client/stop-cluster-workflows';
import { ensureVerifyBackupSchedule } from '../../client/verify-backup-schedule';
import { TASK_QUEUE } from '../../lib/temporal-server';
import type { Activities } from '../../activities';
import type { BackupToVerify, ScratchRemoval } from '../../activities/backup/verify-backup';
import type { RestorePointRecord, VerificationRecord } from '../../common/backup-records';
import type { RestoredClusterView } from '../../common/backup-verification';
import { parseSpec } from '../../common/spec';
import type { VerifyBackupResult } from '../../workflows/verify-backup';
import { SPEC_INPUT, uniqueClusterName } from './helpers';
import { mockActivities } from './mock-activities';
import { failureOf, waitForStep } from './runner';
import { useWorkflowEnv } from './workflow-env';

jest.setTimeout(90_000);

const wf = useWorkflowEnv({ workflowsPath: require.resolve('./verify-backup-workflows') });

const POINT: RestorePointRecord = {
  name: 'b-20261207t030000z',
  cluster: 'x',
  createdAt: '2026-12-07T03:00:00.000Z',
  origin: 'backup',
  coordinatorLsn: '0/3000000',
  groups: {},
  rowCounts: { 'public.demo': 1000, 'public.ref': 3 },
  pauseMs: 12,
};

interface World {
  backup?: BackupToVerify;
  /** Rows found in public.demo (default 1000: as recorded). */
  demoRows?: number;
  restoreFails?: boolean;
  /** The restore child hangs (its step heartbeating) until cancelled. */
  restoreHangs?: boolean;
  /** The check hangs (heartbeating) until cancelled. */
  checkHangs?: boolean;
}

function mockVerify(cluster: string, world: World = {}) {
  const log: string[] = [];
  const records: VerificationRecord[] = [];
  const removals: { scratch: string; source: string }[] = [];
  const base = mockActivities().activities;
  const impl: Pick<
    Activities,
    'backupToVerify' | 'checkRestoredCluster' | 'recordVerification' | 'removeScratchCluster' | 'loadClusterSpec'
  > & { fakeRestore(input: unknown): Promise<void> } = {
    async loadClusterSpec({ cluster: c }) {
      log.push(`loadClusterSpec:${c}`);
      return parseSpec({ ...SPEC_INPUT, name: c });
    },
    async backupToVerify() {
      log.push('backupToVerify');
      return world.backup ?? { found: true, backupId: 'b-1', restorePoint: POINT.name, point: { ...POINT, cluster } };
    },
    async fakeRestore(input) {
      log.push(`restore:${JSON.stringify(input)}`);
      if (world.restoreHangs) {
        const ctx = Context.current();
        for (;;) {
          ctx.heartbeat();
          await ctx.sleep(200);
        }
      }
      if (world.restoreFails)
        throw ApplicationFailure.create({ type: 'BadConfig', message: 'no free port', nonRetryable: true });
    },
    async checkRestoredCluster({ spec }): Promise<RestoredClusterView> {
      log.push(`check:${spec.name}`);
      if (world.checkHangs) {
        const ctx = Context.current();
        for (;;) {
          ctx.heartbeat();
          await ctx.sleep(200); // throws once the cancel arrives with a heartbeat's answer
        }
      }
      return {
        tables: [
          { name: 'public.demo', rows: world.demoRows ?? 1000 },
          { name: 'public.ref', rows: 3 },
        ],
        nodeHealth: { ok: true, rows: [{ from: 'coord-a', fromPort: 5432, to: 'g1-a', toPort: 5432, result: true }] },
      };
    },
    async recordVerification({ record }) {
      log.push(`record:${record.ok}`);
      records.push(record);
      return { written: true };
    },
    async removeScratchCluster(input): Promise<ScratchRemoval> {
      log.push(`remove:${input.scratch}`);
      removals.push(input);
      return {
        removedContainers: ['c1', 'c2'],
        removedVolumes: ['v1'],
        network: true,
        schedulesDeleted: [],
        workflowsTerminated: [],
        stateRemoved: true,
      };
    },
  };
  return {
    activities: { searchAttributesRegistered: base.searchAttributesRegistered, ...impl } as Partial<Activities>,
    log,
    records,
    removals,
  };
}

const run = (cluster: string, m: ReturnType<typeof mockVerify>, during?: Parameters<typeof wf.run>[3]) =>
  wf.run<VerifyBackupResult>('verifyBackup', { cluster }, m.activities, during);

test('a good restore: checked, recorded ok in the source catalog, the scratch cluster removed', async () => {
  const cluster = uniqueClusterName('vb');
  const m = mockVerify(cluster);
  const { result, error, progress } = await run(cluster, m);
  expect(error).toBeUndefined();
  const scratch = result!.scratchCluster!;
  expect(scratch).toMatch(new RegExp(`^${cluster}-v[0-9a-z]+$`));
  expect(result).toMatchObject({ cluster, verified: true, ok: true });
  const restoreInput = { as: scratch, from: cluster, target: { point: POINT.name }, freePorts: true, scratch: true };
  expect(m.log).toEqual([
    `loadClusterSpec:${cluster}`,
    'backupToVerify',
    `restore:${JSON.stringify(restoreInput)}`,
    `loadClusterSpec:${scratch}`,
    `check:${scratch}`,
    'record:true',
    `remove:${scratch}`,
  ]);
  expect(m.records[0]).toMatchObject({
    cluster,
    backupId: 'b-1',
    restorePoint: POINT.name,
    ok: true,
    problems: [],
    scratchCluster: scratch,
    tables: { 'public.demo': { expected: 1000, found: 1000 }, 'public.ref': { expected: 3, found: 3 } },
  });
  expect(m.removals).toEqual([{ scratch, source: cluster, keep: expect.stringMatching(/^verifyBackup-/) }]);
  expect(progress.steps.map((s) => `${s.name}:${s.state}`)).toEqual([
    'validate:done',
    'choose:done',
    'restore:done',
    'check:done',
    'record:done',
    'cleanup:done',
  ]);
});

test('a wrong row count: recorded as failed, the workflow fails (non-retryable), the scratch removed', async () => {
  const cluster = uniqueClusterName('vb');
  const m = mockVerify(cluster, { demoRows: 990 });
  const { error } = await run(cluster, m);
  const f = failureOf(error);
  expect(f.type).toBe('VerificationFailed');
  expect(f.nonRetryable).toBe(true);
  expect(f.message).toMatch(/FAILED.*public\.demo: 990 rows, the restore point recorded 1000/);
  expect(m.records).toHaveLength(1);
  expect(m.records[0]).toMatchObject({
    ok: false,
    problems: ['public.demo: 990 rows, the restore point recorded 1000'],
  });
  expect(m.log.slice(-2)).toEqual(['record:false', `remove:${m.records[0]!.scratchCluster}`]);
});

test('a restore that fails: a failed verification naming it, the scratch cluster removed', async () => {
  const cluster = uniqueClusterName('vb');
  const m = mockVerify(cluster, { restoreFails: true });
  const { error, progress } = await run(cluster, m);
  expect(failureOf(error).type).toBe('VerificationFailed');
  expect(m.records[0]!.ok).toBe(false);
  expect(m.records[0]!.problems).toEqual([expect.stringMatching(/^the restore into .* did not complete: .*/)]);
  expect(m.log.some((l) => l.startsWith('check:'))).toBe(false);
  expect(m.removals).toHaveLength(1);
  expect(progress.steps.find((s) => s.name === 'restore')?.state).toBe('failed');
});

test('a backup whose restore point is not in the catalog: failed, nothing restored, cleanup still runs', async () => {
  const cluster = uniqueClusterName('vb');
  const m = mockVerify(cluster, { backup: { found: true, backupId: 'b-1', restorePoint: 'lost', point: null } });
  const { error } = await run(cluster, m);
  expect(failureOf(error).message).toMatch(/restore point lost of backup b-1 is not in the catalog/);
  expect(m.log.some((l) => l.startsWith('restore:'))).toBe(false);
  expect(m.removals).toHaveLength(1);
});

test('cancelled during the check: the scratch cluster is removed, nothing is recorded', async () => {
  const cluster = uniqueClusterName('vb');
  const m = mockVerify(cluster, { checkHangs: true });
  const { error, progress } = await run(cluster, m, async (handle) => {
    await waitForStep(handle, 'check', 'running');
    await handle.cancel();
  });
  expect(error).toBeInstanceOf(WorkflowFailedError);
  expect(m.records).toEqual([]);
  expect(m.removals).toHaveLength(1);
  expect(m.removals[0]!.scratch).toMatch(new RegExp(`^${cluster}-v`));
  expect(progress.steps.find((s) => s.name === 'cleanup')?.state).toBe('done');
});

test('cancelled during the restore (the child cancelled with it): the scratch cluster is removed', async () => {
  const cluster = uniqueClusterName('vb');
  const m = mockVerify(cluster, { restoreHangs: true });
  const { error, progress } = await run(cluster, m, async (handle) => {
    await waitForStep(handle, 'restore', 'running');
    await new Promise((r) => setTimeout(r, 500)); // the child's step is running
    await handle.cancel();
  });
  expect(error).toBeInstanceOf(WorkflowFailedError);
  expect(m.records).toEqual([]);
  expect(m.log.some((l) => l.startsWith('check:'))).toBe(false);
  expect(m.removals).toHaveLength(1);
  expect(progress.steps.find((s) => s.name === 'cleanup')?.state).toBe('done');
});

test('no backup yet: nothing restored, recorded or removed; the run completes saying so', async () => {
  const cluster = uniqueClusterName('vb');
  const m = mockVerify(cluster, { backup: { found: false, reason: `cluster ${cluster} has no recorded backup yet` } });
  const { result, error } = await run(cluster, m);
  expect(error).toBeUndefined();
  expect(result).toEqual({
    cluster,
    verified: false,
    ok: false,
    reason: `cluster ${cluster} has no recorded backup yet`,
  });
  expect(m.log).toEqual([`loadClusterSpec:${cluster}`, 'backupToVerify']);
});

test('a bad input is refused before any step', async () => {
  const m = mockVerify('x');
  const { error } = await wf.run('verifyBackup', { cluster: 'demo', extra: 1 }, m.activities);
  expect(failureOf(error).message).toMatch(/invalid input of verifyBackup: .*extra/);
  expect(m.log).toEqual([]);
});

test('the schedule: an hour into each interval, kept paused, deleted when backups are off and by down', async () => {
  const cluster = uniqueClusterName('vbs');
  const s = parseSpec({ ...SPEC_INPUT, name: cluster });
  const id = `verify-backup-${cluster}`;
  expect(await ensureVerifyBackupSchedule(wf.client, s)).toEqual({ scheduleId: id, outcome: 'created' });
  expect(await ensureVerifyBackupSchedule(wf.client, s)).toEqual({ scheduleId: id, outcome: 'unchanged' });
  const handle = wf.client.schedule.getHandle(id);
  let d = await handle.describe();
  expect(d.spec.intervals?.map((i) => [i.every, i.offset])).toEqual([[24 * 3_600_000, 3_600_000]]);
  expect(d.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
  expect(d.action).toMatchObject({
    type: 'startWorkflow',
    workflowType: 'verifyBackup',
    taskQueue: TASK_QUEUE,
    workflowId: id,
    args: [{ cluster }],
  });
  await handle.pause('operator: not now');
  const hourly = parseSpec({ ...SPEC_INPUT, name: cluster, backup: { verifyIntervalHours: 1, maxVerifyAgeHours: 3 } });
  expect(await ensureVerifyBackupSchedule(wf.client, hourly)).toEqual({ scheduleId: id, outcome: 'updated' });
  d = await handle.describe();
  expect(d.spec.intervals?.map((i) => [i.every, i.offset])).toEqual([[3_600_000, 1_800_000]]);
  expect(d.state.paused).toBe(true); // an operator's pause outlives `up`

  const off = parseSpec({ ...SPEC_INPUT, name: cluster, backup: { enabled: false } });
  expect(await ensureVerifyBackupSchedule(wf.client, off)).toEqual({ scheduleId: id, outcome: 'deleted' });
  expect(await ensureVerifyBackupSchedule(wf.client, off)).toEqual({ scheduleId: id, outcome: 'none' });
  await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);

  await ensureVerifyBackupSchedule(wf.client, s);
  const report = await stopClusterWorkflows(wf.client, cluster);
  expect(report.schedulesDeleted).toContain(id);
  await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
});
