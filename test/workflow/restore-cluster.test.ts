/**
 * restoreCluster against a real Temporal dev server with mocked activities: a missing point is
 * refused before anything is created; a full restore restores every group into the member that was
 * its primary at the point, then runs the setup as a restored cluster (no clean-up, no demo
 * load) and checks Citus; a step that fails is retried and the restore resumes without deciding
 * again (the plan, its ports, are taken once).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../activities';
import type { RestorePlan } from '../../activities/backup/restore-plan';
import type { RestoreGroupInput } from '../../activities/backup/restore-group';
import type { RestorePointRecord } from '../../common/backup-records';
import { restoredSpec } from '../../common/restore-plan';
import { parseSpec } from '../../common/spec';
import type { RestoreClusterResult } from '../../workflows';
import { uniqueClusterName } from './helpers';
import { mockActivities } from './mock-activities';
import { failureOf } from './runner';
import { useWorkflowEnv } from './workflow-env';

jest.setTimeout(90_000);

const wf = useWorkflowEnv();

const point: RestorePointRecord = {
  name: 'r1',
  cluster: 'src',
  createdAt: '2026-12-07T03:00:00.000Z',
  origin: 'manual',
  coordinatorLsn: '0/5000000',
  groups: {
    coordinator: { primary: 'coord-a', lsn: '0/5000000', timeline: 1, walFile: 'a' },
    g1: { primary: 'g1-b', lsn: '0/5000000', timeline: 2, walFile: 'b' },
    g2: { primary: 'g2-a', lsn: '0/5000000', timeline: 1, walFile: 'c' },
  },
  rowCounts: { 'public.events': 1000 },
  pauseMs: 2,
};

function planFor(as: string): RestorePlan {
  const r = restoredSpec({ backupSpec: parseSpec({ name: 'src', demo: { rows: 1000 } }), point, as });
  if (!r.ok) throw new Error(r.problems.join('; '));
  const label = (g: string) => ({
    member: point.groups[g]!.primary,
    label: `20261207-025000F_${g}`,
    startLsn: '0/2000000',
    stopLsn: '0/2000100',
    timeline: 1,
    sizeBytes: 1,
    repoSizeBytes: 1,
  });
  return {
    spec: r.spec,
    from: 'src',
    inPlace: false,
    point,
    backup: {
      id: 'b-20261207t025000z',
      cluster: 'src',
      startedAt: '2026-12-07T02:50:00.000Z',
      finishedAt: '2026-12-07T02:55:00.000Z',
      restorePoint: 'b-point',
      groups: { coordinator: label('coordinator'), g1: label('g1'), g2: label('g2') },
    },
    note: 'restore point r1 (2026-12-07T03:00:00.000Z), from backup b-20261207t025000z',
    portsPicked: false,
  };
}

type RestoreActivities = Pick<
  Activities,
  'planRestore' | 'createRestoreVolumes' | 'restoreGroupData' | 'finishRestore'
>;

/** The restore's own steps mocked (the setup's come from mockActivities), recorded in order. */
function mockRestore(opts: { refuse?: boolean; failGroupOnce?: string } = {}) {
  const log: string[] = [];
  const groupAttempts: Record<string, number> = {};
  const impl: RestoreActivities = {
    async planRestore(input) {
      log.push('planRestore');
      if (opts.refuse)
        throw ApplicationFailure.create({
          type: 'BadConfig',
          nonRetryable: true,
          message: 'no restore point named "nope"; restore points: r1 (2026-12-07T03:00:00.000Z)',
        });
      return planFor(input.as);
    },
    async createRestoreVolumes({ spec }) {
      log.push('createRestoreVolumes');
      return { volumes: spec.members.map((m) => m.name) };
    },
    async restoreGroupData(input: RestoreGroupInput) {
      groupAttempts[input.group] = (groupAttempts[input.group] ?? 0) + 1;
      log.push(`restoreGroupData:${input.group}:${input.member}:${input.label}:${input.point}`);
      if (opts.failGroupOnce === input.group && groupAttempts[input.group] === 1)
        throw ApplicationFailure.create({ type: 'NotReady', message: 'the one-shot container died' });
      return {
        group: input.group,
        member: input.member,
        restored: true,
        ms: { restore: 900, replay: 300, total: 1400 },
      };
    },
    async finishRestore({ coordinator }) {
      log.push(`finishRestore:${coordinator}`);
      return { recoveredTransactions: 1, nodeHealth: [{ from: 'coord-a', to: 'g1-b', ok: true }] };
    },
  };
  const setup = mockActivities();
  return { activities: { ...setup.activities, ...impl }, log, setup, groupAttempts };
}

test('a restore point that does not exist: refused with the points, nothing created', async () => {
  const m = mockRestore({ refuse: true });
  const { error, progress } = await wf.run<RestoreClusterResult>(
    'restoreCluster',
    { as: uniqueClusterName('rst'), from: 'src', target: { point: 'nope' } },
    m.activities,
  );
  const f = failureOf(error);
  expect(f.type).toBe('BadConfig');
  expect(f.message).toMatch(/no restore point named "nope"; restore points: r1/);
  expect(m.log).toEqual(['planRestore']);
  expect(m.setup.calls).toEqual([]);
  expect(progress.steps.find((s) => s.name === 'validate')?.state).toBe('failed');
});

test('a bad input is refused before the plan', async () => {
  const m = mockRestore();
  const { error } = await wf.run<RestoreClusterResult>(
    'restoreCluster',
    { as: 'demo2', target: { point: 'r1', latest: true } },
    m.activities,
  );
  expect(failureOf(error).message).toMatch(/target: give exactly one of/);
  expect(m.log).toEqual([]);
});

test('every group restored into its primary at the point, then set up as a restored cluster', async () => {
  const m = mockRestore();
  const as = uniqueClusterName('rst');
  const { result, error, progress } = await wf.run<RestoreClusterResult>(
    'restoreCluster',
    { as, from: 'src', target: { point: 'r1' } },
    m.activities,
  );
  expect(error).toBeUndefined();
  expect(m.log.slice(0, 2)).toEqual(['planRestore', 'createRestoreVolumes']);
  expect(m.log.filter((l) => l.startsWith('restoreGroupData')).sort()).toEqual([
    'restoreGroupData:coordinator:coord-a:20261207-025000F_coordinator:r1',
    'restoreGroupData:g1:g1-b:20261207-025000F_g1:r1',
    'restoreGroupData:g2:g2-a:20261207-025000F_g2:r1',
  ]);
  expect(m.log[m.log.length - 1]).toBe('finishRestore:coord-a');
  // The setup ran on the new spec (g1-b first: the initial primary), without clean-up or demo load.
  const provisioned = m.setup.inputs('provisionCluster')[0]!;
  expect(provisioned.name).toBe(as);
  expect(provisioned.members.filter((x) => x.group === 'g1').map((x) => x.name)).toEqual(['g1-b', 'g1-a']);
  for (const skipped of ['cleanUp', 'distributeDemoTable', 'loadDemoData'] as const)
    expect(m.setup.called(skipped)).toEqual([]);
  expect(m.setup.called('followPrimary').length).toBe(3);
  expect(m.setup.called('initPgBouncer').length).toBe(1);
  expect(result?.primaries).toEqual({ coordinator: 'coord-a', g1: 'g1-b', g2: 'g2-a' });
  // Where each group's restore went, as the activity measured it (the bench prints it).
  expect(result?.groupMs.g1).toEqual({ restore: 900, replay: 300, total: 1400 });
  expect(progress.steps.find((s) => s.name === 'restore-data')?.detail).toContain(
    'g1 -> g1-b in 1.4 s (restore 0.9, replay 0.3)',
  );
  expect(result?.rowCounts).toEqual({ 'public.events': 1000 });
  expect(progress.steps.map((s) => s.state)).toEqual(['done', 'done', 'done', 'done', 'done']);
});

test('a failed group restore is retried; the restore resumes without deciding again', async () => {
  const m = mockRestore({ failGroupOnce: 'g1' });
  const { error } = await wf.run<RestoreClusterResult>(
    'restoreCluster',
    { as: uniqueClusterName('rst'), from: 'src', target: { latest: true } },
    m.activities,
  );
  expect(error).toBeUndefined();
  expect(m.groupAttempts).toEqual({ coordinator: 1, g1: 2, g2: 1 });
  expect(m.log.filter((l) => l === 'planRestore' || l === 'createRestoreVolumes')).toEqual([
    'planRestore',
    'createRestoreVolumes',
  ]);
  expect(m.log[m.log.length - 1]).toBe('finishRestore:coord-a');
});
