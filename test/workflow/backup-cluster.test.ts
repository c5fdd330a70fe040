/**
 * backupCluster against a real Temporal dev server with mocked activities: the repository check
 * first, every group's base backup in parallel, then the restore point named after the backup,
 * the record (with the groups' backups and the point) while expiry starts as its own workflow
 * that the backup does not wait for (or found running already); a group whose attempt fails
 * retryably (a failover) is backed up again and the progress says why; a non-retryable failure
 * ends the run with no restore point or record; a cancelled run ends only once every group's
 * backup activity has stopped its pgBackRest; a bad input is refused before any activity.
 */
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, WorkflowFailedError } from '@temporalio/client';
import { expireBackupsWorkflowId } from '../../common/workflow-ids';
import type { ExpiredBackups } from '../../activities/backup/expire';
import { ensureBackupSchedule } from '../../client/backup-schedule';
import { stopClusterWorkflows } from '../../client/stop-cluster-workflows';
import { TASK_QUEUE } from '../../lib/temporal-server';
import type { Activities } from '../../activities';
import type { BackupGroup, BackupRecord, RestorePointRecord } from '../../common/backup-records';
import type { Progress } from '../../common/progress';
import { parseSpec } from '../../common/spec';
import type { BackupClusterResult } from '../../workflows';
import { FIXTURES, historyFromJson, SPEC_INPUT, uniqueClusterName, uniqueId } from './helpers';
import { mockActivities } from './mock-activities';
import { failureOf, waitForStep, waitUntil } from './runner';
import { useWorkflowEnv } from './workflow-env';

jest.setTimeout(90_000);

const wf = useWorkflowEnv();
const spec = parseSpec(SPEC_INPUT);
const GROUPS = ['coordinator', 'g1', 'g2'];

type BackupActivities = Pick<
  Activities,
  'checkBackupRepository' | 'baseBackupGroup' | 'recordBackup' | 'expireBackups'
> & {
  createRestorePoint(input: { name: string; origin: string; rowCounts: boolean }): Promise<RestorePointRecord>;
};

const groupBackup = (group: string, member: string): BackupGroup => ({
  member,
  label: `20261207-040000F-${group}`,
  startLsn: '0/2000028',
  stopLsn: '0/2000100',
  timeline: 1,
  sizeBytes: 30_000_000,
  repoSizeBytes: 4_000_000,
});

interface MockOptions {
  /** Per group: failures of its first attempts, in order. */
  failures?: Record<string, ApplicationFailure[]>;
  /** Resolves the base backups only once released (to see them all running at once). */
  gate?: Promise<void>;
}

function mockBackup(opts: MockOptions = {}) {
  const log: string[] = [];
  const running = new Set<string>();
  let maxParallel = 0;
  const attempts: Record<string, number> = {};
  const impl: BackupActivities = {
    async checkBackupRepository() {
      log.push('checkBackupRepository');
      return { stanzas: GROUPS };
    },
    async baseBackupGroup({ group, backupId }) {
      attempts[group] = (attempts[group] ?? 0) + 1;
      log.push(`baseBackupGroup:${group}:${backupId}`);
      running.add(group);
      maxParallel = Math.max(maxParallel, running.size);
      try {
        await opts.gate;
        const failure = opts.failures?.[group]?.[attempts[group]! - 1];
        if (failure) throw failure;
        return groupBackup(group, attempts[group]! > 1 ? `${group}-b` : `${group}-a`);
      } finally {
        running.delete(group);
      }
    },
    async createRestorePoint({ name, origin, rowCounts }) {
      log.push(`createRestorePoint:${name}:${origin}:${rowCounts}`);
      return {
        name,
        cluster: spec.name,
        createdAt: new Date().toISOString(),
        origin: 'backup',
        coordinatorLsn: '0/3000000',
        groups: {},
        rowCounts: { 'public.events': 1000 },
        pauseMs: 12,
      };
    },
    async recordBackup({ record }) {
      log.push(`recordBackup:${record.id}`);
      return record;
    },
    async expireBackups() {
      log.push('expireBackups');
      return { stanzas: { g1: { retentionFull: 2, expired: ['20261206-040000F'] } }, kept: [] };
    },
  };
  return {
    activities: {
      ...mockActivities({}, { stored: { [spec.name]: SPEC_INPUT } }).activities,
      ...impl,
    } as unknown as Partial<Activities>,
    log,
    attempts,
    maxParallel: () => maxParallel,
  };
}

const retryable = (message: string) => ApplicationFailure.create({ type: 'NotReady', message });

test('repository check, every group in parallel, the restore point, the record, expiry started: in order', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const m = mockBackup({ gate });
  const { result, error, progress } = await wf.run<BackupClusterResult>(
    'backupCluster',
    { spec: SPEC_INPUT },
    m.activities,
    async (handle) => {
      await waitForStep(handle, 'base backups', 'running');
      // Every group's backup is under way before any returns.
      for (let i = 0; i < 100 && m.maxParallel() < GROUPS.length; i++) await new Promise((r) => setTimeout(r, 50));
      release();
    },
  );
  expect(error).toBeUndefined();
  expect(m.maxParallel()).toBe(GROUPS.length);
  const id = result!.backup.id;
  expect(id).toMatch(/^b-\d{8}t\d{6}z$/);
  expect(m.log[0]).toBe('checkBackupRepository');
  expect(m.log.slice(1, 4).sort()).toEqual(GROUPS.map((g) => `baseBackupGroup:${g}:${id}`).sort());
  expect(m.log.slice(4, 6)).toEqual([`createRestorePoint:${id}:backup:true`, `recordBackup:${id}`]);
  const expiryId = expireBackupsWorkflowId(spec.name);
  expect(result!.expiry).toEqual({ workflowId: expiryId, outcome: 'started' });
  const record: BackupRecord = result!.backup;
  expect(Object.keys(record.groups).sort()).toEqual(GROUPS.sort());
  expect(record).toMatchObject({ cluster: spec.name, restorePoint: id });
  expect(record.spec.name).toBe(spec.name);
  expect(record.finishedAt >= record.startedAt).toBe(true);
  expect(progress.steps.map((s) => `${s.name}:${s.state}`)).toEqual([
    'validate:done',
    'base backups:done',
    'restore point:done',
    'record:done',
    'expire:done',
  ]);
  expect(progress.steps[4]!.detail).toBe(`started ${expiryId} (runs on after the backup)`);
  // The expiry outlives the backup (ABANDON) and expires on its own, after the record.
  const expiry = wf.client.workflow.getHandle(expiryId);
  const { taskQueue } = await expiry.describe();
  const worker = await wf.worker(taskQueue, m.activities);
  const expired = await worker.runUntil(expiry.result() as Promise<ExpiredBackups>);
  expect(expired.stanzas.g1!.expired).toEqual(['20261206-040000F']);
  expect(m.log.at(-1)).toBe('expireBackups');
  expect(m.log.indexOf('expireBackups')).toBeGreaterThan(m.log.indexOf(`recordBackup:${id}`));
});

test('{cluster}: the check reads the stored spec itself, beside the spec read; the steps in the result', async () => {
  const m = mockBackup();
  const checked: unknown[] = [];
  const activities = {
    ...m.activities,
    async checkBackupRepository(input: unknown) {
      checked.push(input);
      return { stanzas: GROUPS };
    },
  };
  const { result, error, progress } = await wf.run<BackupClusterResult>(
    'backupCluster',
    { cluster: spec.name },
    activities,
  );
  expect(error).toBeUndefined();
  expect(checked).toEqual([{ cluster: spec.name }]);
  expect(result!.backup.spec.name).toBe(spec.name);
  // what the CLI prints instead of asking the closed workflow (a replay) for its last progress
  expect(result!.progress!.steps.map((s) => `${s.name}:${s.state}`)).toEqual(
    progress.steps.map((s) => `${s.name}:${s.state}`),
  );
  expect(result!.progress!.steps.every((s) => s.state === 'done')).toBe(true);
});

test('{cluster} of no cluster set up here: the spec read fails the run (not the check), no backup', async () => {
  const m = mockBackup();
  const activities = {
    ...m.activities,
    async checkBackupRepository(): Promise<never> {
      throw ApplicationFailure.create({ type: 'BadConfig', message: 'the check failed too', nonRetryable: true });
    },
  };
  const { error } = await wf.run<BackupClusterResult>('backupCluster', { cluster: 'nosuchcluster' }, activities);
  expect(failureOf(error).type).toBe('UnknownCluster');
  expect(m.log.filter((l) => l.startsWith('baseBackupGroup'))).toEqual([]);
});

test('an expiry still running is not started twice: the backup says so and completes', async () => {
  const expiryId = expireBackupsWorkflowId(spec.name);
  // An expiry an earlier test's backup started and no worker finished (each run's worker stops with it).
  await wf.client.workflow
    .getHandle(expiryId)
    .terminate('an earlier test left it')
    .catch(() => undefined);
  // An earlier expiry nobody runs yet (no worker polls its queue).
  const earlier = await wf.client.workflow.start('expireBackupsWorkflow', {
    taskQueue: uniqueId('tq-idle'),
    workflowId: expiryId,
    args: [{ cluster: spec.name }],
  });
  try {
    const m = mockBackup();
    const { result, error, progress } = await wf.run<BackupClusterResult>(
      'backupCluster',
      { spec: SPEC_INPUT },
      m.activities,
    );
    expect(error).toBeUndefined();
    expect(result!.expiry).toEqual({ workflowId: expiryId, outcome: 'already-running' });
    expect(progress.steps[4]).toMatchObject({ name: 'expire', state: 'done' });
    expect(progress.steps[4]!.detail).toMatch(/running already/);
    expect(m.log).not.toContain('expireBackups');
  } finally {
    await earlier.terminate('test over');
  }
});

test('cancelled mid-backup: every group stops its pgBackRest before the run ends; nothing after', async () => {
  const log: string[] = [];
  const running = new Set<string>();
  const m = mockBackup();
  const activities = {
    ...m.activities,
    // Like baseBackupGroup: heartbeats while pgBackRest runs; cancelled, it stops it (here: 300 ms) first.
    async baseBackupGroup({ group }: { group: string }) {
      const ctx = Context.current();
      running.add(group);
      const beat = setInterval(() => ctx.heartbeat(), 100);
      try {
        await ctx.cancelled;
      } catch (err) {
        log.push(`cancelled:${group}`);
        await new Promise((r) => setTimeout(r, 300));
        log.push(`stopped:${group}`);
        throw err;
      } finally {
        clearInterval(beat);
      }
      throw new Error('unreachable');
    },
  } as unknown as Partial<Activities>;
  const taskQueue = uniqueId('tq');
  const worker = await wf.worker(taskQueue, activities, { maxHeartbeatThrottleInterval: '200ms' });
  const handle = await wf.client.workflow.start('backupCluster', {
    taskQueue,
    workflowId: uniqueId('backupCluster'),
    args: [{ spec: SPEC_INPUT }],
  });
  const ended = await worker.runUntil(async () => {
    await waitUntil('every group backing up', () => running.size === GROUPS.length, 15_000);
    await handle.cancel();
    // What the stops had done when the run ended (the worker's shutdown below waits for activities anyway).
    return handle.result().then(
      () => ({ err: undefined as unknown, logAtEnd: [...log] }),
      (err: unknown) => ({ err, logAtEnd: [...log] }),
    );
  });
  const { err: error, logAtEnd } = ended;
  // The run ended (cancelled) only after every group's stop had finished.
  expect(error).toBeInstanceOf(WorkflowFailedError);
  expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  expect(logAtEnd.filter((l) => l.startsWith('stopped:')).sort()).toEqual(GROUPS.map((g) => `stopped:${g}`).sort());
  expect(m.log.some((l) => /^(createRestorePoint|recordBackup|expireBackups)/.test(l))).toBe(false);
});

test('a run recorded when expiry was a step of the run (in flight at an upgrade) replays here', async () => {
  // Recorded from the code before expire-backups-<cluster>: its history schedules expireBackups itself.
  const json = fs.readFileSync(path.join(FIXTURES, 'backup-cluster-history-expiry-in-run.json'), 'utf8');
  expect(json).toContain('"expireBackups"');
  expect(json).not.toContain('expireBackupsWorkflow');
  await Worker.runReplayHistory({ workflowBundle: wf.bundle }, historyFromJson(json), 'backup-recorded');
});

test('a group whose primary failed over mid-backup is backed up again, and the progress says why', async () => {
  const m = mockBackup({
    failures: { g1: [retryable('g1: the backup on g1-a failed (g1-b is the primary now)')] },
  });
  const seen: string[] = [];
  const { result, error, progress } = await wf.run<BackupClusterResult>(
    'backupCluster',
    { spec: SPEC_INPUT },
    m.activities,
    async (handle) => {
      await waitForStep(handle, 'base backups', 'running');
      for (let i = 0; i < 100; i++) {
        const q = await handle.query<Progress>('progress');
        const detail = q.steps[1]!.detail ?? '';
        if (detail.includes('retrying')) {
          seen.push(detail);
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  );
  expect(error).toBeUndefined();
  expect(m.attempts).toEqual({ coordinator: 1, g1: 2, g2: 1 });
  expect(seen[0]).toMatch(/g1: attempt 1 failed, retrying on the group's current primary: .*g1-b is the primary now/);
  expect(result!.backup.groups.g1!.member).toBe('g1-b');
  expect(progress.steps[1]!.detail).toMatch(/g1: 20261207-040000F-g1 from g1-b/);
});

test('a non-retryable failure of a group ends the run: no restore point, no record, no expiry', async () => {
  const m = mockBackup({
    failures: {
      g2: [ApplicationFailure.create({ type: 'BadConfig', message: 'g2: stanza mismatch', nonRetryable: true })],
    },
  });
  const { error, progress } = await wf.run('backupCluster', { spec: SPEC_INPUT }, m.activities);
  expect(failureOf(error).message).toMatch(/stanza mismatch/);
  expect(m.attempts.g2).toBe(1);
  expect(m.log.some((l) => l.startsWith('createRestorePoint') || l.startsWith('recordBackup'))).toBe(false);
  expect(m.log).not.toContain('expireBackups');
  expect(progress.steps[1]).toMatchObject({ name: 'base backups', state: 'failed' });
  expect(progress.steps[2]!.state).toBe('pending');
});

test('a bad input is refused before any activity', async () => {
  const m = mockBackup();
  const { error } = await wf.run('backupCluster', { cluster: 'Bad Name', full: true }, m.activities);
  const f = failureOf(error);
  expect(f.type).toBe('BadConfig');
  expect(f.message).toMatch(/cluster/);
  expect(f.message).toMatch(/full/);
  expect(m.log).toEqual([]);
});

test('the schedule: created, unchanged, updated (a pause kept), deleted when disabled and by `down`', async () => {
  const cluster = uniqueClusterName('backup');
  const s = parseSpec({ ...SPEC_INPUT, name: cluster });
  const id = `backup-${cluster}`;
  expect(await ensureBackupSchedule(wf.client, s)).toEqual({ scheduleId: id, outcome: 'created' });
  expect(await ensureBackupSchedule(wf.client, s)).toEqual({ scheduleId: id, outcome: 'unchanged' });
  const handle = wf.client.schedule.getHandle(id);
  let d = await handle.describe();
  expect(d.spec.intervals?.map((i) => i.every)).toEqual([24 * 3_600_000]); // daily by default
  expect(d.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
  expect(d.action).toMatchObject({
    type: 'startWorkflow',
    workflowType: 'backupCluster',
    taskQueue: TASK_QUEUE,
    workflowId: id,
    args: [{ cluster }],
  });
  await handle.pause('operator: not now');
  const sixHourly = parseSpec({ ...SPEC_INPUT, name: cluster, backup: { intervalHours: 6, maxBackupAgeHours: 8 } });
  expect(await ensureBackupSchedule(wf.client, sixHourly)).toEqual({ scheduleId: id, outcome: 'updated' });
  d = await handle.describe();
  expect(d.spec.intervals?.map((i) => i.every)).toEqual([6 * 3_600_000]);
  expect(d.state.paused).toBe(true);

  const off = parseSpec({ ...SPEC_INPUT, name: cluster, backup: { enabled: false } });
  expect(await ensureBackupSchedule(wf.client, off)).toEqual({ scheduleId: id, outcome: 'deleted' });
  await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  expect(await ensureBackupSchedule(wf.client, off)).toEqual({ scheduleId: id, outcome: 'none' });

  expect(await ensureBackupSchedule(wf.client, s)).toEqual({ scheduleId: id, outcome: 'created' });
  const report = await stopClusterWorkflows(wf.client, cluster);
  expect(report.schedulesDeleted).toContain(id);
  await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
});
