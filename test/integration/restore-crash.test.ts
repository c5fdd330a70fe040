/**
 * A restore that crashes halfway resumes. On a small cluster (coord-a/coord-b, g1-a/g1-b; ports
 * 31980-31985, Temporal 32381): rows, `citusctl backup`, more rows, `citusctl restore-point P`,
 * then `citusctl restore --as it-rcrash2 --to P` (its ports from a spec file, 31986-31991) run
 * without the monitor, so its own process is the only worker: it is SIGKILLed while the
 * restore-data step runs and a group's one-shot restore container is up (pgBackRest restoring).
 * A rerun of the same command (a new worker) attaches to the workflow in flight and completes it:
 * - the workflow resumed where it stopped: planRestore, createRestoreVolumes and each group's
 *   restoreGroupData were scheduled once in its history (nothing done before the kill ran again);
 *   the group(s) in flight at the kill were retried by Temporal (attempt >= 2), which restores over
 *   the half-restored data directory (pgBackRest --delta: idempotent by design) or finds the member
 *   already recorded primary (done before); a group completed before the kill is not restored again;
 * - it-rcrash2 holds the rows of P (the row count of every table recorded at P, every id acked
 *   before P was asked for);
 * - no one-shot restore container is left, and no volume beyond the cluster's own.
 * Runs on the test double and, with CITUSCTL_IMAGE_POSTGRES=citusctl-local/citus-real:17, on real Citus.
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { describe, expect, it, jest } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import type { RestorePointRecord } from '../../common/backup-records';
import { LABEL_CLUSTER, LABEL_HELPER } from '../../common/labels';
import { BACKUP_MEMBER, ETCD_MEMBER } from '../../common/names';
import { parseSpec } from '../../common/spec';
import { backupRepoVolumeName, volumeName } from '../../common/topology';
import type { RestoreClusterResult } from '../../workflows';
import { docker, labelledObjects, layout, makeCluster, sleep, startCli, su, type TestCluster } from './support/cluster';
import { appClient, tableCounts, cliJson, waitFor, type GroupRunJson } from './support/failover';
import { workflowHistoryText } from './support/temporal-history';
import { upSourceAndRestoredForFile } from './support/up-cluster';

jest.setTimeout(30 * 60_000);

const TEMPORAL_PORT = 32381;
const SHAPE = { rows: 500, shardCount: 4, workers: ['g1'] };
const c = makeCluster(
  layout({ name: 'it-rcrash', basePort: 31980, temporalPort: TEMPORAL_PORT, ...SHAPE }),
  TEMPORAL_PORT,
);

/** Its metrics port: the rerun starts the monitor and the supervised worker, which serves metrics. */
const restoredInput = {
  ...layout({ name: 'it-rcrash2', basePort: 31986, temporalPort: TEMPORAL_PORT, ...SHAPE }),
  metrics: { port: 31999 },
};
const restoredSpecFile = path.join(c.dir, 'restored.yaml');
const c2: TestCluster = { ...c, name: 'it-rcrash2', spec: parseSpec(restoredInput), specFile: restoredSpecFile };

const TABLE = 'writes';
const POINT = 'r-crash';
const restoreArgs = ['restore', '--as', c2.name, '--from', c.name, '--to', POINT];

/** The one-shot restore containers of the restored cluster (running or not). */
async function restoreContainers(): Promise<string[]> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL_CLUSTER}=${c2.name}`, `${LABEL_HELPER}=restore`] },
  });
  return list.map((x) => x.Names[0]?.replace(/^\//, '') ?? x.Id);
}

interface HistoryEvent {
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string }; input?: unknown };
  activityTaskStartedEventAttributes?: { scheduledEventId?: string; attempt?: number };
  activityTaskCompletedEventAttributes?: { scheduledEventId?: string };
  eventId: string;
}

/** Per activity type: how often it was scheduled, and the attempt each scheduled call completed on. */
function activityRuns(raw: string): Record<string, { scheduled: number; completedAttempts: number[] }> {
  const events = (JSON.parse(raw) as { events: HistoryEvent[] }).events;
  const typeOf = new Map<string, string>();
  const out: Record<string, { scheduled: number; completedAttempts: number[] }> = {};
  const attemptOf = new Map<string, number>();
  for (const e of events) {
    const type = e.eventType.replace(/^EVENT_TYPE_/, '');
    if (/ACTIVITY_TASK_SCHEDULED/i.test(type)) {
      const name = e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
      typeOf.set(String(e.eventId), name);
      (out[name] ??= { scheduled: 0, completedAttempts: [] }).scheduled++;
    } else if (/ACTIVITY_TASK_STARTED/i.test(type)) {
      const a = e.activityTaskStartedEventAttributes!;
      attemptOf.set(String(a.scheduledEventId), a.attempt ?? 1);
    } else if (/ACTIVITY_TASK_COMPLETED/i.test(type)) {
      const id = String(e.activityTaskCompletedEventAttributes!.scheduledEventId);
      out[typeOf.get(id) ?? '?']?.completedAttempts.push(attemptOf.get(id) ?? 1);
    }
  }
  return out;
}

type RestoreJson = GroupRunJson<RestoreClusterResult> & {
  pgpass: string;
  caPath: string;
  firstBackup: { started: boolean; scheduleId?: string; why?: string };
};

describe('a restore whose worker is killed mid-way resumes', () => {
  const t = upSourceAndRestoredForFile(c, { name: c2.name, specFile: restoredSpecFile }, { downBackups: true });

  let point: RestorePointRecord;
  let ids: number[] = [];
  let restored: RestoreJson;

  it('rows, backup, more rows, restore point P', async () => {
    fs.writeFileSync(restoredSpecFile, stringify(restoredInput));
    const insert = (from: number, to: number) =>
      su(c, 'coord-a', (cl) => cl.query(`INSERT INTO ${TABLE} SELECT g FROM generate_series(${from}, ${to}) g`));
    await su(c, 'coord-a', async (cl) => {
      await cl.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (id bigint PRIMARY KEY, at timestamptz DEFAULT now())`);
      await cl.query(`SELECT create_distributed_table('${TABLE}', 'id')`);
      await cl.query(`GRANT SELECT ON ${TABLE} TO app`);
    });
    await insert(1, 2000);
    const backup = await cliJson<GroupRunJson<{ backup: { id: string } }>>(c, ['backup'], { timeoutMs: 6 * 60_000 });
    expect(backup.ok).toBe(true);
    await insert(2001, 3000); // after the backup: replayed from the archive
    const r = await cliJson<GroupRunJson<RestorePointRecord>>(c, ['restore-point', POINT], { timeoutMs: 4 * 60_000 });
    point = r.result;
    expect(point.rowCounts).not.toBeNull();
    ids = Array.from({ length: 3000 }, (_, i) => i + 1);
    await insert(3001, 3500); // after P: must not be in the restore
  });

  it('restore SIGKILLed (its in-process worker with it) during restore-data; a rerun resumes, completes', async () => {
    const run = startCli([...restoreArgs, '--no-monitor', '-c', restoredSpecFile], c.env, 12 * 60_000);
    let inFlight: string[] = [];
    try {
      await run.waitForLine(/^… restore-data\s+running/);
      // pgBackRest is restoring into a group's new primary volume: its one-shot container is up.
      inFlight = await waitFor(
        'a one-shot restore container of it-rcrash2',
        async () => {
          const names = await restoreContainers();
          return names.length ? names : undefined;
        },
        120_000,
        50,
      );
      await sleep(300); // well inside pgBackRest's restore, not at the container's start
    } finally {
      run.child.kill('SIGKILL');
    }
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL'); // still running: the kill interrupted the restore
    console.log(`[restore-crash] killed while ${inFlight.join(', ')} ran`);

    // The rerun as an operator would: with the monitor, so the new cluster's first backup starts.
    const r = await cliJson<RestoreJson>(c, restoreArgs, { specFile: restoredSpecFile, timeoutMs: 12 * 60_000 });
    expect(r.ok).toBe(true);
    restored = r;
    expect(r.attached).toBe(true); // the same workflow, resumed (not a new restore)
    expect(r.result.point).toBe(POINT);
    expect(Object.keys(r.result.primaries).sort()).toEqual(['coordinator', 'g1']);
    const detail = r.steps.find((s) => s.name === 'restore-data')?.detail ?? '';
    console.log(`[restore-crash] restore-data: ${detail}`);

    // Resumed where it stopped: nothing completed before the kill was scheduled again; the calls in
    // flight were retried (a later attempt) by the new worker.
    const runs = activityRuns(workflowHistoryText({ workflowId: r.workflowId, port: TEMPORAL_PORT }).raw);
    expect(runs.planRestore?.scheduled).toBe(1);
    expect(runs.createRestoreVolumes?.scheduled).toBe(1);
    expect(runs.restoreGroupData?.scheduled).toBe(2); // one call per group, ever
    expect(runs.restoreGroupData?.completedAttempts).toHaveLength(2);
    expect(Math.max(...runs.restoreGroupData!.completedAttempts)).toBeGreaterThanOrEqual(2);
    console.log(`[restore-crash] restoreGroupData completed on attempts ${runs.restoreGroupData!.completedAttempts}`);

    // The rows of P, none after it.
    const tables = Object.keys(point.rowCounts!);
    expect(tables.length).toBeGreaterThanOrEqual(2);
    expect(await tableCounts(c2, tables)).toEqual(point.rowCounts);
    const cl = await appClient(c2);
    try {
      const got = new Set((await cl.query<{ id: string }>(`SELECT id FROM ${TABLE}`)).rows.map((x) => Number(x.id)));
      expect(ids.filter((id) => !got.has(id))).toEqual([]);
      expect(got.size).toBe(ids.length);
    } finally {
      await cl.end();
    }

    // Nothing of the killed attempt left: no one-shot container, no volume beyond the cluster's own.
    expect(await restoreContainers()).toEqual([]);
    const own = new Set([
      ...c2.spec.members.map((m) => volumeName(c2.name, m.name)),
      volumeName(c2.name, ETCD_MEMBER),
      volumeName(c2.name, BACKUP_MEMBER),
      backupRepoVolumeName(c2.name),
    ]);
    const objs = await labelledObjects(c2.name);
    expect(objs.volumes.filter((v) => !own.has(v))).toEqual([]);
    expect(objs.containers.filter((n) => /-restore$/.test(n))).toEqual([]);
  });

  it("the restored cluster's first backup starts at once (schedule triggered); status shows it once done", async () => {
    expect(restored.firstBackup).toEqual({ started: true, scheduleId: `backup-${c2.name}` });
    const handle = t.client.schedule.getHandle(`backup-${c2.name}`);
    const workflowId = await waitFor(
      "the backup schedule's triggered run",
      async () => (await handle.describe()).info.recentActions.at(-1)?.action.workflow.workflowId,
      60_000,
      500,
    );
    const result = await t.client.workflow
      .getHandle(workflowId)
      .result()
      .then((x) => x as { backup: { id: string; cluster: string; groups: Record<string, { member: string }> } });
    expect(result.backup.cluster).toBe(c2.name);
    expect(Object.keys(result.backup.groups).sort()).toEqual(['coordinator', 'g1']);
    const status = await cliJson<{ backups: { catalog: { newestBackup: { id: string } | null } } }>(c, [
      'status',
      '--cluster',
      c2.name,
    ]);
    expect(status.backups.catalog.newestBackup?.id).toBe(result.backup.id);
  });
});
