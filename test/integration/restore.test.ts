/**
 * The Done-when flow through the built CLI, on a small cluster (coord-a/coord-b, g1-a/g1-b;
 * ports 31230-31235, Temporal 31239) under numbered writers through PgBouncer:
 * `citusctl backup`; more writes; g1's primary killed (the monitor fails over to g1-b); more
 * writes; `citusctl restore-point R`; a destructive DELETE of most rows; then
 * - `citusctl restore --as it-restore2 --from it-restore --to R` (its ports from a spec file,
 *   31240-31245): every row acknowledged before R was asked for is there, none of the mistake, the
 *   row count of every table is the one recorded at R; g1's restored primary is g1-b (the primary
 *   at R), its standby streams, Citus reaches every node; `status --cluster` works on it;
 * - a point that does not exist is refused, naming the points, and creates nothing;
 * - in place: `down --volumes` (the repository stays), `citusctl restore --as it-restore --to R`.
 * On the double the rows live in the coordinator's local table (no routing): the same assertions
 * hold. On real Citus: CITUSCTL_IMAGE_POSTGRES=citusctl-local/citus-real:17 and
 * CITUSCTL_TEST_IMAGE_POSTGRES the same.
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { describe, expect, it, jest } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import type { RestorePointRecord } from '../../common/backup-records';
import { parseSpec } from '../../common/spec';
import { backupRepoVolumeName } from '../../common/topology';
import type { RestoreClusterResult } from '../../workflows';
import { docker, labelledObjects, layout, makeCluster, runCli, sleep, su, type TestCluster } from './support/cluster';
import {
  appClient,
  tableCounts,
  cliJson,
  expectStreaming,
  killMember,
  waitFor,
  type FailoverResultJson,
  type GroupRunJson,
} from './support/failover';
import { numberedWriters, type NumberedWriters } from './support/numbered-writers';
import { upSourceAndRestoredForFile } from './support/up-cluster';

jest.setTimeout(30 * 60_000);

const SHAPE = { rows: 500, shardCount: 4, workers: ['g1'] };
const c = makeCluster(layout({ name: 'it-restore', basePort: 31230, temporalPort: 31239, ...SHAPE }), 31239);

/** The restored cluster: its spec file (its own ports), sharing the source's state directory and Temporal. */
const restoredInput = layout({ name: 'it-restore2', basePort: 31240, temporalPort: 31239, ...SHAPE });
const restoredSpecFile = path.join(c.dir, 'restored.yaml');
const c2: TestCluster = { ...c, name: 'it-restore2', spec: parseSpec(restoredInput), specFile: restoredSpecFile };

const TABLE = 'writes';
const POINT = 'r-before-mistake';

/** Until `count` rows are acknowledged in all (a writer's error during the failover does not stop the wait). */
async function ackedAtLeast(w: NumberedWriters, count: number): Promise<void> {
  await waitFor(`${count} acknowledged rows`, async () => (w.acked.length >= count ? true : undefined), 120_000, 50);
}

async function rowsThroughPgBouncer(cluster: TestCluster): Promise<Set<number>> {
  const cl = await appClient(cluster);
  try {
    return new Set((await cl.query<{ id: string }>(`SELECT id FROM ${TABLE}`)).rows.map((r) => Number(r.id)));
  } finally {
    await cl.end();
  }
}

type RestoreJson = GroupRunJson<RestoreClusterResult> & { pgpass: string; caPath: string };

describe('restore to a named point', () => {
  upSourceAndRestoredForFile(c, { name: c2.name, specFile: restoredSpecFile });

  let point: RestorePointRecord;
  let ackedBeforePoint: number[] = [];

  it('backup, writes, failover of g1, writes, restore point R, then a destructive DELETE', async () => {
    fs.writeFileSync(restoredSpecFile, stringify(restoredInput));
    await su(c, 'coord-a', async (cl) => {
      await cl.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (id bigint PRIMARY KEY, at timestamptz DEFAULT now())`);
      await cl.query(`SELECT create_distributed_table('${TABLE}', 'id')`);
      await cl.query(`GRANT SELECT, INSERT, DELETE ON ${TABLE} TO app`);
    });
    const writers = numberedWriters(c, TABLE, 4);
    try {
      await ackedAtLeast(writers, 40);
      const backup = await cliJson<GroupRunJson<{ backup: { id: string } }>>(c, ['backup'], { timeoutMs: 6 * 60_000 });
      expect(backup.ok).toBe(true);
      await ackedAtLeast(writers, writers.acked.length + 40);

      // g1's primary dies and is failed over to g1-b (by command: the test runs without the monitor),
      // which archives the new timeline.
      await killMember(c, 'g1-a');
      const failover = await cliJson<GroupRunJson<FailoverResultJson>>(c, ['failover', 'g1'], {
        timeoutMs: 4 * 60_000,
      });
      expect(failover.result.newPrimary).toBe('g1-b');
      await ackedAtLeast(writers, writers.acked.length + 40);

      ackedBeforePoint = [...writers.acked];
      const r = await cliJson<GroupRunJson<RestorePointRecord>>(c, ['restore-point', POINT], {
        timeoutMs: 4 * 60_000,
      });
      point = r.result;
      expect(point.name).toBe(POINT);
      expect(point.groups.g1?.primary).toBe('g1-b');
      expect(point.rowCounts).not.toBeNull();
      await ackedAtLeast(writers, writers.acked.length + 20);
    } finally {
      await writers.stop();
    }
    // The mistake: most rows of both tables gone.
    await su(c, 'coord-a', async (cl) => {
      await cl.query(`DELETE FROM ${TABLE} WHERE id % 10 <> 0`);
      await cl.query(`DELETE FROM events WHERE id % 10 <> 0`);
    });
    expect((await rowsThroughPgBouncer(c)).size).toBeLessThan(ackedBeforePoint.length / 2);
  });

  it('restore --as it-restore2 --to R: every row acked before R, none of the mistake, counts as at R', async () => {
    // Without the monitor, as every cluster of these tests (`up --no-monitor`).
    const r = await cliJson<RestoreJson>(
      c,
      ['restore', '--as', c2.name, '--from', c.name, '--to', POINT, '--no-monitor'],
      {
        specFile: restoredSpecFile,
        timeoutMs: 12 * 60_000,
      },
    );
    expect(r.ok).toBe(true);
    expect(r.workflowId).toBe(`restore-${c2.name}`);
    expect(r.result.point).toBe(POINT);
    expect(r.result.inPlace).toBe(false);
    expect(r.result.primaries).toEqual({ coordinator: point.groups.coordinator!.primary, g1: 'g1-b' });
    expect(r.result.spec.pgbouncer.port).toBe(c2.spec.pgbouncer.port);
    expect(r.result.finish.nodeHealth.length).toBeGreaterThan(0);

    const rows = await rowsThroughPgBouncer(c2);
    const missing = ackedBeforePoint.filter((id) => !rows.has(id));
    expect(missing).toEqual([]);
    // Row counts per table are those recorded at R (the mistake came after it).
    const tables = Object.keys(point.rowCounts!);
    expect(tables.length).toBeGreaterThanOrEqual(2);
    expect(await tableCounts(c2, tables)).toEqual(point.rowCounts);

    // A cluster like any other: g1's standby streams from the restored primary; status reads it.
    await expectStreaming(c2, 'g1-a', 'g1-b');
    const status = await cliJson<{ cluster: string; members: { name: string }[] }>(c, ['status', '--cluster', c2.name]);
    expect(status.cluster).toBe(c2.name);
    expect(status.members.map((m) => m.name).sort()).toEqual(c2.spec.members.map((m) => m.name).sort());
  });

  it('a restore point that does not exist: refused with the list of points, nothing created', async () => {
    const r = await runCli(
      ['restore', '--as', 'it-restore3', '--from', c.name, '--to', 'nope', '--json', '--no-monitor'],
      c.env,
    );
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/no restore point named "nope"/);
    expect(r.stdout + r.stderr).toContain(POINT);
    const left = await labelledObjects('it-restore3');
    expect(left).toEqual({ containers: [], volumes: [], networks: [] });
  });

  it('in place: down --volumes keeps the repository; restore --as it-restore --to R brings the rows back', async () => {
    const down = await runCli(['down', '--volumes', '--json', '-c', c.specFile], c.env, 180_000);
    expect(down.code).toBe(0);
    await docker.getVolume(backupRepoVolumeName(c.name)).inspect(); // still there
    await sleep(500);
    const r = await cliJson<RestoreJson>(c, ['restore', '--as', c.name, '--to', POINT, '--no-monitor'], {
      timeoutMs: 12 * 60_000,
    });
    expect(r.result.inPlace).toBe(true);
    const rows = await rowsThroughPgBouncer(c);
    expect(ackedBeforePoint.filter((id) => !rows.has(id))).toEqual([]);
    expect(await tableCounts(c, Object.keys(point.rowCounts!))).toEqual(point.rowCounts);
  });
});
