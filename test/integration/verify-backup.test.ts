/**
 * Restores proven on a schedule, on a small cluster (coord-a/coord-b, g1-a/g1-b; ports 31760-31769)
 * through the built CLI:
 * - `citusctl backup`, then `citusctl verify-backup`: the backup restored into a scratch cluster
 *   (backups disabled: it reads this cluster's repository, has none of its own), every table
 *   counted as its restore point recorded, the verification recorded ok in the
 *   cluster's catalog; the scratch cluster is gone (containers, network, volumes, repository, state);
 *   `citusctl health` shows the verification and every group's archive; `status` the backup lines.
 * - The Schedule `verify-backup-<cluster>` (as `up` makes it), triggered: its run completes in
 *   Temporal's history with the verification as its result, and `health` shows that verification.
 * - A wrong expectation (the restore point's row count changed by a test-only write into the
 *   catalog): the verification fails (exit 1), is recorded with the table named, the scratch
 *   cluster is removed all the same, and `health` is degraded naming the failed verification.
 * - A broken archive (the repository's archive of g1 made unwritable): `health` names the failing
 *   archive of g1 with pgBackRest's error; once writable again the archive catches up.
 * - `down --volumes` keeps the repository and says so; `down --volumes --backups` removes it.
 * Runs on the test double and, with CITUSCTL_IMAGE_POSTGRES=citusctl-local/citus-real:17, on real Citus.
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import type { RestorePointRecord, VerificationRecord } from '../../common/backup-records';
import type { BackupReport } from '../../common/backup-health';
import type { HealthReport } from '../../common/health-report';
import { BACKUP_MEMBER, BACKUP_REPO_PATH } from '../../common/names';
import { backupRepoVolumeName, containerName } from '../../common/topology';
import { tableKey } from '../../common/backup-verification';
import { BackupCatalog } from '../../lib/backup/catalog';
import { execIn, tarOf } from '../../lib/docker/docker-helpers';
import {
  describeRun,
  docker,
  labelledObjects,
  layout,
  makeCluster,
  runCli,
  startCli,
  testImages,
} from './support/cluster';
import { METRICS_PORT_ENV } from '../../worker/metrics-server';
import { cliJson, waitFor } from './support/failover';
import { upClusterForFile } from './support/up-cluster';
import { ensureVerifyBackupSchedule } from '../../client/verify-backup-schedule';

jest.setTimeout(15 * 60_000);

const c = makeCluster(
  layout({ name: 'it-verify', basePort: 31760, temporalPort: 31769, rows: 300, shardCount: 4, workers: ['g1'] }),
  31769,
);
const backupHost = containerName(c.name, BACKUP_MEMBER);
const catalog = new BackupCatalog(docker, c.name, testImages().postgres);

interface VerifyJson {
  ok: boolean;
  result: {
    verified: boolean;
    ok: boolean;
    record: VerificationRecord;
    scratchCluster: string;
    removed: { removedContainers: string[]; removedVolumes: string[] };
  };
}

type HealthJson = HealthReport & { backups: BackupReport };

/** `citusctl <args> --json`: exit code and the one document. */
async function cliDoc<T>(args: string[], timeoutMs = 10 * 60_000): Promise<{ code: number | null; doc: T }> {
  const r = await runCli([...args, '--json', '-c', c.specFile], c.env, timeoutMs);
  try {
    return { code: r.code, doc: JSON.parse(r.stdout) as T };
  } catch {
    throw new Error(`citusctl ${args.join(' ')} --json printed no single JSON document: ${describeRun(r)}`);
  }
}

/** `citusctl health --json`: the report (exit 1 when degraded is expected here too). */
const health = async () => ({ result: (await cliDoc<HealthJson>(['health'], 3 * 60_000)).doc });

/** Nothing of the scratch cluster is left: Docker objects, its repository volume, its state directory. */
async function expectScratchGone(scratch: string): Promise<void> {
  expect(await labelledObjects(scratch)).toEqual({ containers: [], networks: [], volumes: [] });
  await expect(docker.getVolume(backupRepoVolumeName(scratch)).inspect()).rejects.toMatchObject({ statusCode: 404 });
  expect(fs.existsSync(path.join(c.stateDir, 'clusters', scratch))).toBe(false);
}

/** Test only: replaces a record of the catalog (the product writes each once and never replaces it). */
async function overwriteRestorePoint(point: RestorePointRecord): Promise<void> {
  const tar = await tarOf({
    [`citusctl/restore-points/${point.name}.json`]: { content: JSON.stringify(point) + '\n', mode: 0o644 },
  });
  await docker.getContainer(backupHost).putArchive(tar, { path: BACKUP_REPO_PATH });
}

describe('verify-backup', () => {
  const t = upClusterForFile(c);
  afterAll(async () => {
    await docker
      .getVolume(backupRepoVolumeName(c.name))
      .remove()
      .catch(() => undefined);
  });

  let verified: VerificationRecord;

  it('backup, then verify-backup: restored into a scratch cluster, counts matched, recorded ok, removed', async () => {
    const b = await cliJson<{ result: { backup: { id: string; restorePoint: string } } }>(c, ['backup'], {
      timeoutMs: 6 * 60_000,
    });
    const { code, doc } = await cliDoc<VerifyJson>(['verify-backup']);
    // The reason in the failure message when the proof failed.
    expect({ code, ok: doc.ok, error: (doc as { error?: string }).error }).toEqual({ code: 0, ok: true });
    verified = doc.result.record;
    expect(verified).toMatchObject({
      cluster: c.name,
      backupId: b.result.backup.id,
      restorePoint: b.result.backup.restorePoint,
      ok: true,
      problems: [],
    });
    const point = await catalog.get('restore-points', verified.restorePoint);
    expect(point?.rowCounts).not.toBeNull();
    // Every table counted at the point was found with its count (the demo table among them).
    for (const [table, rows] of Object.entries(point!.rowCounts!))
      expect(verified.tables[tableKey(table)]).toEqual({ expected: rows, found: rows });
    expect(Object.keys(verified.tables).some((t) => t.endsWith(`.${c.spec.demo.table}`))).toBe(true);
    expect(await catalog.get('verifications', verified.id)).toEqual(verified);
    // The scratch cluster read this cluster's repository and had none of its own: no repository
    // volume, no backup container among what its removal found (its members and services were there).
    const scratch = doc.result.scratchCluster;
    expect(doc.result.removed.removedContainers).toContain(containerName(scratch, 'coord-a'));
    expect(doc.result.removed.removedContainers).not.toContain(containerName(scratch, BACKUP_MEMBER));
    expect(doc.result.removed.removedVolumes).not.toContain(backupRepoVolumeName(scratch));
    await expectScratchGone(scratch);

    const h = await health();
    const cat = h.result.backups.catalog as Extract<BackupReport['catalog'], { ok: true }>;
    expect(cat.newestVerification).toMatchObject({ id: verified.id, ok: true });
    expect(cat.newestOkVerification?.id).toBe(verified.id);
    expect(h.result.backups.groups.map((g) => [g.group, g.failing])).toEqual([
      ['coordinator', false],
      ['g1', false],
    ]);
    expect(h.result.problems.filter((p) => p.component === 'backup')).toEqual([]);

    const st = await cliDoc<{ backups: { container: { state: string }; repository: { present: boolean } } }>([
      'status',
    ]);
    expect(st.doc.backups).toMatchObject({ container: { state: 'running' }, repository: { present: true } });
  });

  it("the Schedule's run: triggered, it completes in Temporal's history and health shows its result", async () => {
    // As `up` with the monitor would have it: a long-lived worker runs what the Schedule starts.
    const worker = startCli(['worker'], { ...c.env, [METRICS_PORT_ENV]: '31768' }, 8 * 60_000);
    await worker.waitForLine(/task queues "citusctl"/);
    try {
      await scheduledRun();
    } finally {
      worker.child.kill('SIGTERM');
      await worker.done.catch(() => undefined);
    }
  });

  /** The Schedule made as `up` makes it, triggered now: its run's result, history and health. */
  async function scheduledRun(): Promise<void> {
    const schedule = await ensureVerifyBackupSchedule(t.client, c.spec);
    expect(schedule.scheduleId).toBe(`verify-backup-${c.name}`);
    const handle = t.client.schedule.getHandle(schedule.scheduleId);
    await new Promise((r) => setTimeout(r, 1100)); // a new second: a new verification id and scratch name
    await handle.trigger();
    const workflowId = await waitFor(
      "the schedule's run",
      async () => {
        const action = (await handle.describe()).info.recentActions.at(-1);
        return action?.action.workflow.workflowId;
      },
      60_000,
      500,
    );
    expect(workflowId.startsWith(`verify-backup-${c.name}-`)).toBe(true);
    const run = t.client.workflow.getHandle(workflowId);
    const result = await run.result();
    expect(result).toMatchObject({ verified: true, ok: true, record: { ok: true, cluster: c.name } });
    // What the UI's history shows: the run completed, its result the recorded verification.
    const history = await run.fetchHistory();
    expect(history.events?.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
    await handle.delete();
    const cat = (await health()).result.backups.catalog as Extract<BackupReport['catalog'], { ok: true }>;
    expect(cat.newestVerification).toMatchObject({ id: result.record.id, ok: true });
  }

  it('a wrong expectation: the verification fails, is recorded, the scratch removed, health degraded', async () => {
    const point = (await catalog.get('restore-points', verified.restorePoint))!;
    const [name, rows] = Object.entries(point.rowCounts!).find(([t]) => tableKey(t) === `public.${c.spec.demo.table}`)!;
    const table = tableKey(name);
    await overwriteRestorePoint({ ...point, rowCounts: { ...point.rowCounts, [name]: rows + 7 } });
    await new Promise((r) => setTimeout(r, 1100)); // a new second: a new verification id and scratch name

    const { code, doc } = await cliDoc<{ ok: boolean; error: string }>(['verify-backup']);
    expect(code).toBe(1);
    expect(doc.ok).toBe(false);
    expect(doc.error).toContain(`${table}: ${rows} rows, the restore point recorded ${rows + 7}`);
    const failed = (await catalog.list('verifications')).find((v) => !v.ok)!;
    expect(failed.problems).toEqual([`${table}: ${rows} rows, the restore point recorded ${rows + 7}`]);
    await expectScratchGone(failed.scratchCluster);

    const h = await health();
    expect(h.result.status).toBe('degraded');
    expect(h.result.problems).toContainEqual({
      component: 'backup',
      subject: 'verified restore',
      message: expect.stringContaining(`the newest verification ${failed.id}`),
    });
    await overwriteRestorePoint(point); // as it was
  });

  it('a broken archive: health names the failing archive of g1; writable again, it catches up', async () => {
    const archiveDir = `${BACKUP_REPO_PATH}/archive/g1`;
    await execIn(docker, backupHost, ['chmod', '-R', 'a-w', archiveDir], '0');
    try {
      // A WAL record, then a switch: the segment is complete and due for archiving.
      await execIn(
        docker,
        containerName(c.name, 'g1-a'),
        ['psql', '-X', '-At', '-c', 'CHECKPOINT', '-c', 'SELECT pg_switch_wal()'],
        'postgres',
      );
      const h = await waitFor(
        'health to name the failing archive of g1',
        async () => {
          const r = await health();
          return r.result.problems.some((p) => p.subject === 'g1' && p.component === 'backup') ? r : undefined;
        },
        180_000,
        3_000,
      );
      const p = h.result.problems.find((x) => x.subject === 'g1' && x.component === 'backup')!;
      expect(p.message).toMatch(/^archive of g1 failing since .*failure\(s\), the last at .* on [0-9A-F]{24}/);
      expect(h.result.backups.groups.find((g) => g.group === 'g1')).toMatchObject({ failing: true });
    } finally {
      await execIn(docker, backupHost, ['chmod', '-R', 'u+w', archiveDir], '0');
    }
    // PostgreSQL retries the segment (every minute at worst): the archive of g1 is healthy again.
    await waitFor(
      'the archive of g1 to catch up',
      async () => ((await health()).result.backups.groups.find((g) => g.group === 'g1')?.failing ? undefined : true),
      150_000,
      5_000,
    );
  });

  it('down --volumes keeps the repository and says so; --volumes --backups removes it', async () => {
    const kept = await cliDoc<{ ok: boolean; keptBackupRepo?: string }>(['down', '--volumes'], 3 * 60_000);
    expect(kept.doc.keptBackupRepo).toBe(backupRepoVolumeName(c.name));
    await docker.getVolume(backupRepoVolumeName(c.name)).inspect();
    expect((await catalog.list('verifications')).length).toBeGreaterThanOrEqual(2); // readable with the cluster down
    const gone = await cliDoc<{ ok: boolean; removedVolumes: string[] }>(
      ['down', '--volumes', '--backups', '--cluster', c.name],
      3 * 60_000,
    );
    expect(gone.doc.removedVolumes).toContain(backupRepoVolumeName(c.name));
    await expect(docker.getVolume(backupRepoVolumeName(c.name)).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});
