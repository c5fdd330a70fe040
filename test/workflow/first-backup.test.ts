/**
 * A restored cluster's first backup (client/restore.ts): the `backup-<cluster>` Schedule triggered
 * once runs backupCluster now (the schedule's own run, on a real Temporal dev server, with mocked
 * activities); a second trigger while it runs is skipped (overlap SKIP), not a second backup.
 */
import { ensureBackupSchedule, triggerBackupSchedule } from '../../client/backup-schedule';
import { TASK_QUEUE } from '../../lib/temporal-server';
import type { Activities } from '../../activities';
import type { BackupGroup, RestorePointRecord } from '../../common/backup-records';
import { parseSpec } from '../../common/spec';
import type { BackupClusterResult } from '../../workflows';
import { SPEC_INPUT, uniqueClusterName } from './helpers';
import { mockActivities } from './mock-activities';
import { useWorkflowEnv } from './workflow-env';

jest.setTimeout(90_000);

const wf = useWorkflowEnv();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function mockBackup(cluster: string, gate: Promise<void>) {
  const attempts: Record<string, number> = {};
  const group = (g: string): BackupGroup => ({
    member: `${g}-a`,
    label: `20261207-040000F-${g}`,
    startLsn: '0/2000028',
    stopLsn: '0/2000100',
    timeline: 1,
    sizeBytes: 30_000_000,
    repoSizeBytes: 4_000_000,
  });
  const impl = {
    checkBackupRepository: async () => ({ stanzas: ['coordinator', 'g1', 'g2'] }),
    async baseBackupGroup({ group: g }: { group: string }) {
      attempts[g] = (attempts[g] ?? 0) + 1;
      await gate;
      return group(g);
    },
    createRestorePoint: async ({ name }: { name: string }): Promise<RestorePointRecord> => ({
      name,
      cluster,
      createdAt: new Date().toISOString(),
      origin: 'backup',
      coordinatorLsn: '0/3000000',
      groups: {},
      rowCounts: null,
      pauseMs: 12,
    }),
    recordBackup: async ({ record }: { record: unknown }) => record,
    expireBackups: async () => ({ stanzas: {}, kept: [] }),
  };
  return { activities: impl as unknown as Partial<Activities>, attempts };
}

test('the schedule triggered runs backupCluster now; a second trigger while it runs is skipped', async () => {
  const cluster = uniqueClusterName('first');
  const input = { ...SPEC_INPUT, name: cluster };
  const s = parseSpec(input);
  const id = `backup-${cluster}`;
  await ensureBackupSchedule(wf.client, s);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const m = mockBackup(cluster, gate);
  const base = mockActivities({}, { stored: { [cluster]: input } }).activities;
  const worker = await wf.worker(TASK_QUEUE, { ...base, ...m.activities });
  const handle = wf.client.schedule.getHandle(id);
  const result = await worker.runUntil(async () => {
    expect(await triggerBackupSchedule(wf.client, s)).toEqual({ scheduleId: id });
    let running: string | undefined;
    for (let i = 0; i < 200 && !running; i++) {
      running = (await handle.describe()).info.runningActions[0]?.workflow.workflowId;
      if (!running) await sleep(50);
    }
    expect(running).toMatch(new RegExp(`^${id}-`)); // the schedule's run, not a CLI's backup-<cluster>
    // A trigger while the first backup runs (a rerun of `restore`) does not start a second one.
    await triggerBackupSchedule(wf.client, s);
    let skipped = 0;
    for (let i = 0; i < 100 && skipped === 0; i++) {
      skipped = (await handle.describe()).info.numActionsSkippedOverlap;
      if (!skipped) await sleep(50);
    }
    expect(skipped).toBe(1);
    release();
    return (await wf.client.workflow.getHandle(running!).result()) as BackupClusterResult;
  });
  expect(result.backup.cluster).toBe(cluster);
  expect(m.attempts).toEqual({ coordinator: 1, g1: 1, g2: 1 }); // one backup, not two
  expect((await handle.describe()).info.numActionsTaken).toBe(1);
  await handle.delete();
});
