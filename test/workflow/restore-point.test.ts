/**
 * restorePoint against a real Temporal dev server with mocked activities: the point is made by one
 * createRestorePoint call with the name given, or `rp-<workflow time>`, counting rows unless told
 * not to; a bad name or input is refused before any activity. And the Schedule
 * `restore-point-<cluster>`: every backup.restorePointMinutes without row counts, none with backups
 * disabled, deleted by `down`'s cleanup.
 */
import { ScheduleNotFoundError } from '@temporalio/client';
import type { Activities } from '../../activities';
import type { CreateRestorePointInput } from '../../activities/backup/restore-point';
import { ensureRestorePointSchedule } from '../../client/restore-point-schedule';
import { stopClusterWorkflows } from '../../client/stop-cluster-workflows';
import type { RestorePointRecord } from '../../common/backup-records';
import { parseSpec } from '../../common/spec';
import { SPEC_INPUT, uniqueClusterName } from './helpers';
import { mockActivities } from './mock-activities';
import { failureOf } from './runner';
import { useWorkflowEnv } from './workflow-env';

jest.setTimeout(90_000);

const wf = useWorkflowEnv();

function mockPoint() {
  const calls: Omit<CreateRestorePointInput, 'spec'>[] = [];
  const impl: Pick<Activities, 'createRestorePoint'> = {
    async createRestorePoint({ spec, ...rest }) {
      calls.push(rest);
      return {
        name: rest.name,
        cluster: spec.name,
        createdAt: '2026-12-07T04:00:00.000Z',
        origin: rest.origin,
        coordinatorLsn: '0/3000090',
        groups: {},
        rowCounts: rest.rowCounts ? { 'public.events': 42 } : null,
        pauseMs: 7,
      };
    },
  };
  return { activities: { ...mockActivities().activities, ...impl }, calls };
}

test('a named point: one activity call with the name, rows counted, manual', async () => {
  const m = mockPoint();
  const { result, error, progress } = await wf.run<RestorePointRecord>(
    'restorePoint',
    { spec: SPEC_INPUT, name: 'before-migration' },
    m.activities,
  );
  expect(error).toBeUndefined();
  expect(m.calls).toEqual([{ name: 'before-migration', origin: 'manual', rowCounts: true }]);
  expect(result).toMatchObject({ name: 'before-migration', rowCounts: { 'public.events': 42 } });
  expect(progress.steps.map((s) => `${s.name}:${s.state}`)).toEqual(['validate:done', 'restore point:done']);
});

test('no name: rp-<workflow time>; the schedule asks without counts', async () => {
  const m = mockPoint();
  const { error } = await wf.run(
    'restorePoint',
    { spec: SPEC_INPUT, rowCounts: false, origin: 'schedule' },
    m.activities,
  );
  expect(error).toBeUndefined();
  expect(m.calls).toHaveLength(1);
  expect(m.calls[0]).toMatchObject({ origin: 'schedule', rowCounts: false });
  expect(m.calls[0]!.name).toMatch(/^rp-\d{8}t\d{6}z$/);
});

test.each([
  [{ name: 'Bad Name' }, /name/],
  [{ name: 'x'.repeat(64) }, /name/],
  [{ rowCounts: 'no' }, /rowCounts/],
  [{ origin: 'backup' }, /origin/],
  [{ names: 'typo' }, /names/],
])('a bad input %j is refused before any activity', async (extra, field) => {
  const m = mockPoint();
  const { error } = await wf.run('restorePoint', { spec: SPEC_INPUT, ...extra }, m.activities);
  const f = failureOf(error);
  expect(f.type).toBe('BadConfig');
  expect(f.nonRetryable).toBe(true);
  expect(f.message).toMatch(field);
  expect(m.calls).toEqual([]);
});

test('the schedule: every restorePointMinutes, no counts; none with backups off; deleted by `down`', async () => {
  const cluster = uniqueClusterName('rp');
  const s = parseSpec({ ...SPEC_INPUT, name: cluster, backup: { restorePointMinutes: 5 } });
  const id = `restore-point-${cluster}`;
  expect(await ensureRestorePointSchedule(wf.client, s)).toEqual({ scheduleId: id, outcome: 'created' });
  expect(await ensureRestorePointSchedule(wf.client, s)).toEqual({ scheduleId: id, outcome: 'unchanged' });
  const handle = wf.client.schedule.getHandle(id);
  const d = await handle.describe();
  expect(d.spec.intervals?.map((i) => i.every)).toEqual([5 * 60_000]);
  expect(d.action).toMatchObject({
    type: 'startWorkflow',
    workflowType: 'restorePoint',
    workflowId: id,
    args: [{ cluster, rowCounts: false, origin: 'schedule' }],
  });
  const report = await stopClusterWorkflows(wf.client, cluster);
  expect(report.schedulesDeleted).toContain(id);
  await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);

  // Backups disabled: no schedule, and one left from before is deleted.
  expect(await ensureRestorePointSchedule(wf.client, s)).toMatchObject({ outcome: 'created' });
  const off = parseSpec({ ...SPEC_INPUT, name: cluster, backup: { enabled: false } });
  expect(await ensureRestorePointSchedule(wf.client, off)).toBeUndefined();
  await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
});
