/**
 * Base backups through the built CLI on a small cluster (coord-a/coord-b, g1-a/g1-b; ports
 * 31620-31629), with the repository, the backup container and the stanzas `up` makes:
 * - `citusctl backup`: every group's stanza holds a full backup of the run (its annotation names
 *   the backup id), the catalog holds the record (per group: label, LSNs, timeline, sizes) and the
 *   restore point named after it; `citusctl backups` lists both; `pgbackrest verify` passes.
 * - Cancelling `backup-<cluster>` while g1's pgBackRest waits for its WAL (g1-a's archiving broken
 *   on purpose): the run ends cancelled only once no pgBackRest of the run is left in any primary,
 *   every stanza's backup lock is free, and the next backup works.
 * - Retention (the spec keeps 1 full backup): the expiry a second backup starts (its own workflow,
 *   which the command does not wait for) expires the first; once a verified restore names the
 *   second (a verification record written here), the third's expiry keeps it.
 * Runs on the test double and, with CITUSCTL_IMAGE_POSTGRES=citusctl-local/citus-real:17, on real Citus.
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import type { ExpiredBackups } from '../../activities/backup/expire';
import type { BackupRecord, VerificationRecord } from '../../common/backup-records';
import { BACKUP_MEMBER } from '../../common/names';
import { backupRepoVolumeName, containerName } from '../../common/topology';
import { backupWorkflowId } from '../../common/workflow-ids';
import { BACKUP_ID_ANNOTATION } from '../../lib/backup/backup-info';
import { BackupCatalog } from '../../lib/backup/catalog';
import { ARCHIVE_WAL_SCRIPT } from '../../lib/backup/pgbackrest-config';
import { runPgbackrest, stanzaInfo } from '../../lib/backup/pgbackrest';
import { backupProcessPattern } from '../../lib/backup/stop-backup';
import { execIn } from '../../lib/docker/docker-helpers';
import { docker, layout, makeCluster, testImages } from './support/cluster';
import { cliJson, type GroupRunJson } from './support/failover';
import { upClusterForFile } from './support/up-cluster';

jest.setTimeout(12 * 60_000);

const c = makeCluster(
  {
    ...layout({ name: 'it-backup', basePort: 31620, temporalPort: 31629, rows: 500, shardCount: 4, workers: ['g1'] }),
    backup: { retentionFull: 1 },
  },
  31629,
);
const STANZAS = ['coordinator', 'g1'];
const backupHost = containerName(c.name, BACKUP_MEMBER);
const catalog = new BackupCatalog(docker, c.name, testImages().postgres);

interface BackupJson {
  backup: BackupRecord;
  restorePoint: { name: string; createdAt: string; rowCounts: Record<string, number> | null };
  expiry: { workflowId: string; outcome: string };
}

const backup = () => cliJson<GroupRunJson<BackupJson>>(c, ['backup'], { timeoutMs: 6 * 60_000 });
/** Per stanza: the labels of its full backups, oldest first. */
const fullLabels = async () =>
  Object.fromEntries(
    await Promise.all(
      STANZAS.map(async (s) => {
        const [info] = await stanzaInfo(docker, backupHost, s);
        return [s, (info?.backup ?? []).filter((b) => b.type === 'full' && !b.error).map((b) => b.label)] as const;
      }),
    ),
  );

describe('backups', () => {
  const t = upClusterForFile(c);
  /** A backup, and what the expiry it started removed (waited for here: the command does not). */
  const backupAndExpiry = async () => {
    const r = (await backup()).result;
    expect(r.expiry.outcome).toBe('started');
    // Bounded: an expiry nobody runs fails here instead of hanging the file.
    const expired = (await t.client.withDeadline(Date.now() + 120_000, () =>
      t.client.workflow.getHandle(r.expiry.workflowId).result(),
    )) as ExpiredBackups;
    return { ...r, expired };
  };
  afterAll(async () => {
    // `down --volumes` keeps the repository by design: this file's goes here (after the file's `down`).
    await docker
      .getVolume(backupRepoVolumeName(c.name))
      .remove()
      .catch(() => undefined);
  });

  let first: BackupRecord;

  it('citusctl backup: a full backup of every group, recorded with LSNs, sizes; pgBackRest verifies it', async () => {
    const r = await backup();
    expect(r.ok).toBe(true);
    first = r.result.backup;
    expect(first.id).toMatch(/^b-\d{8}t\d{6}z$/);
    expect(Object.keys(first.groups).sort()).toEqual([...STANZAS].sort());
    for (const g of STANZAS) {
      const x = first.groups[g]!;
      expect(x.member).toBe(`${g === 'coordinator' ? 'coord' : g}-a`);
      expect(x.label).toMatch(/^\d{8}-\d{6}F$/);
      expect(x.startLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect(x.stopLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect(x.timeline).toBe(1);
      expect(x.sizeBytes).toBeGreaterThan(1_000_000);
      expect(x.repoSizeBytes).toBeGreaterThan(0);
      expect(x.repoSizeBytes).toBeLessThan(x.sizeBytes);
    }
    // The restore point made after the base backups is named after the backup.
    expect(r.result.restorePoint.name).toBe(first.id);
    expect(first.restorePoint).toBe(first.id);
    expect(r.steps.map((s) => `${s.name}:${s.state}`)).toEqual([
      'validate:done',
      'base backups:done',
      'restore point:done',
      'record:done',
      'expire:done',
    ]);

    // pgBackRest's own view: each stanza holds this run's backup, with the same label.
    for (const g of STANZAS) {
      const [info] = await stanzaInfo(docker, backupHost, g);
      const b = info!.backup.find((x) => x.annotation?.[BACKUP_ID_ANNOTATION] === first.id);
      expect(b?.label).toBe(first.groups[g]!.label);
      expect(b?.type).toBe('full');
    }
    // The catalog in the repository holds the record as the workflow returned it.
    expect(await catalog.get('backups', first.id)).toEqual(first);
    expect((await catalog.get('restore-points', first.id))?.name).toBe(first.id);
    // Every file of every backup and the WAL they need check out.
    for (const g of STANZAS) await runPgbackrest(docker, backupHost, [`--stanza=${g}`, 'verify']);
  });

  it('citusctl backups lists the backup with its groups and the restore point', async () => {
    const r = await cliJson<{
      exists: boolean;
      backups: { id: string; groups: Record<string, { label: string; sizeBytes: number }> }[];
      restorePoints: { name: string; origin: string }[];
    }>(c, ['backups']);
    expect(r.exists).toBe(true);
    const listed = r.backups.find((b) => b.id === first.id);
    expect(listed?.groups.g1?.label).toBe(first.groups.g1!.label);
    expect(r.restorePoints.find((p) => p.name === first.id)?.origin).toBe('backup');
  });

  it('cancelled mid-backup: no pgBackRest of the run left in a primary, the locks free', async () => {
    const g1a = containerName(c.name, 'g1-a');
    const script = await execIn(docker, g1a, ['cat', ARCHIVE_WAL_SCRIPT], 'root');
    expect(script.exitCode).toBe(0);
    // g1-a archives nothing for now: its backup waits for its WAL (pgBackRest's archive check), long enough to cancel.
    const broken = await execIn(
      docker,
      g1a,
      ['sh', '-c', `printf '#!/bin/sh\\nexit 1\\n' > ${ARCHIVE_WAL_SCRIPT}`],
      'root',
    );
    expect(broken.exitCode).toBe(0);
    let cancelledId = '';
    try {
      // As an operator would: `citusctl backup` runs (its own worker runs the workflow), and is cancelled meanwhile.
      const cli = cliJson(c, ['backup'], { timeoutMs: 3 * 60_000 }).then(
        () => 'completed',
        (err: Error) => err.message,
      );
      const handle = t.client.workflow.getHandle(backupWorkflowId(c.name));
      // The run's backup id is in its first progress detail ("backup b-...").
      const runningIn = async (member: string) => {
        const r = await execIn(docker, containerName(c.name, member), [
          'pgrep',
          '-f',
          '--',
          `pgbackrest .*--annotation=${BACKUP_ID_ANNOTATION}=b-`,
        ]);
        return r.exitCode === 0;
      };
      const deadline = Date.now() + 60_000;
      while (!(await runningIn('g1-a'))) {
        if (Date.now() > deadline) throw new Error('the backup never ran on g1-a');
        await new Promise((r) => setTimeout(r, 50));
      }
      const progress = await handle.query<{ steps: { name: string; detail?: string }[] }>('progress');
      cancelledId = /backup (b-\S+)/.exec(progress.steps[0]?.detail ?? '')?.[1] ?? '';
      expect(cancelledId).toMatch(/^b-/);
      await new Promise((r) => setTimeout(r, 1500)); // g1's pgBackRest is waiting for its WAL now
      expect(await runningIn('g1-a')).toBe(true);
      await handle.cancel();
      const ended = await handle.result().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(ended).toBeInstanceOf(WorkflowFailedError);
      expect((ended as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      expect(await cli).not.toBe('completed');
      // When the run has ended, no process of it is left, in either primary.
      for (const [member, stanza] of [
        ['coord-a', 'coordinator'],
        ['g1-a', 'g1'],
      ] as const) {
        const left = await execIn(docker, containerName(c.name, member), [
          'pgrep',
          '-f',
          '--',
          backupProcessPattern(stanza, BACKUP_ID_ANNOTATION, cancelledId),
        ]);
        expect({ member, left: left.stdout.trim(), code: left.exitCode }).toEqual({ member, left: '', code: 1 });
      }
      // pgBackRest's backup locks (on the repository volume) are free again.
      for (const s of STANZAS) {
        const [info] = await stanzaInfo(docker, backupHost, s);
        expect({ s, held: info?.status.lock?.backup?.held ?? false }).toEqual({ s, held: false });
      }
      // Nothing of the cancelled run was recorded.
      expect(await catalog.get('backups', cancelledId)).toBeUndefined();
    } finally {
      await execIn(docker, g1a, ['sh', '-c', `cat > ${ARCHIVE_WAL_SCRIPT} <<'EOF'\n${script.stdout}EOF\n`], 'root');
    }
    expect((await execIn(docker, g1a, ['cat', ARCHIVE_WAL_SCRIPT], 'root')).stdout).toBe(script.stdout);
  });

  it('retention 1: a second backup expires the first, unless a verified restore used it', async () => {
    const second = await backupAndExpiry();
    // The first is gone from every stanza (retention 1, nothing verified).
    let labels = await fullLabels();
    for (const g of STANZAS) {
      expect(labels[g]).toEqual([second.backup.groups[g]!.label]);
      expect(second.expired.stanzas[g]?.expired).toContain(first.groups[g]!.label);
    }

    // A verified restore of the second: the third backup must keep it.
    const verification: VerificationRecord = {
      id: `v-${second.backup.id.slice(2)}`,
      cluster: c.name,
      backupId: second.backup.id,
      restorePoint: second.backup.restorePoint,
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
      ok: true,
      problems: [],
      tables: {},
      scratchCluster: 'it-backup-scratch',
    };
    expect(await catalog.put('verifications', verification.id, verification)).toBe(true);
    await new Promise((r) => setTimeout(r, 1100)); // a new second: a new backup id
    const third = await backupAndExpiry();
    labels = await fullLabels();
    for (const g of STANZAS) {
      expect(labels[g]).toEqual([second.backup.groups[g]!.label, third.backup.groups[g]!.label]);
      expect(third.expired.stanzas[g]).toEqual({ retentionFull: 2, expired: [] });
    }
    expect(third.expired.kept).toEqual([third.backup.id, second.backup.id]);
    for (const g of STANZAS) await runPgbackrest(docker, backupHost, [`--stanza=${g}`, 'verify']);
  });
});
