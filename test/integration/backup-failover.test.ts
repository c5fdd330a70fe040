/**
 * A backup during a failover. On a small cluster (coord-a/coord-b, g1-a/g1-b; ports 31950-31955,
 * Temporal 32382) g1 holds a bigger table (a plain table written on g1's primary, several hundred
 * MB: its base backup lasts seconds, not milliseconds). `citusctl backup` runs (its own process
 * is the worker: no monitor); once pgBackRest's backup runs in g1-a, `docker kill` of g1-a and
 * `citusctl failover g1` (g1-b promoted). The backup finishes on the new primary (the killed
 * attempt fails retryably, exit 137 of a pgBackRest killed with its container; the workflow retries
 * g1 on its current primary): the record names g1-b as g1's member, pgBackRest's info shows that
 * backup (this run's annotation, member g1-b, timeline 2). (Before that exit was classified, the
 * whole backup failed at once as a config error "pgbackrest backup failed (exit 137)".)
 * Then `citusctl restore --as it-bkfail2 --to <that backup's restore point>` (ports 31992-31997):
 * every table counted at the point, and the big table of g1, are there.
 * Runs on the test double and, with CITUSCTL_IMAGE_POSTGRES=citusctl-local/citus-real:17, on real Citus.
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { describe, expect, it, jest } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import type { BackupRecord, RestorePointRecord } from '../../common/backup-records';
import { BACKUP_MEMBER } from '../../common/names';
import { parseSpec } from '../../common/spec';
import { containerName } from '../../common/topology';
import { BACKUP_ID_ANNOTATION, BACKUP_MEMBER_ANNOTATION } from '../../lib/backup/backup-info';
import { stanzaInfo } from '../../lib/backup/pgbackrest';
import type { RestoreClusterResult } from '../../workflows';
import { describeRun, docker, layout, makeCluster, sleep, startCli, su, type TestCluster } from './support/cluster';
import {
  tableCounts,
  cliJson,
  containerOf,
  killMember,
  waitFor,
  type FailoverResultJson,
  type GroupRunJson,
} from './support/failover';
import { upSourceAndRestoredForFile } from './support/up-cluster';

jest.setTimeout(30 * 60_000);

const TEMPORAL_PORT = 32382;
const SHAPE = { rows: 500, shardCount: 4, workers: ['g1'] };
const c = makeCluster(
  layout({ name: 'it-bkfail', basePort: 31950, temporalPort: TEMPORAL_PORT, ...SHAPE }),
  TEMPORAL_PORT,
);
const restoredInput = layout({ name: 'it-bkfail2', basePort: 31992, temporalPort: TEMPORAL_PORT, ...SHAPE });
const restoredSpecFile = path.join(c.dir, 'restored.yaml');
const c2: TestCluster = { ...c, name: 'it-bkfail2', spec: parseSpec(restoredInput), specFile: restoredSpecFile };
const backupHost = containerName(c.name, BACKUP_MEMBER);

/** g1's big table: ~170 bytes a row of hex (lz4 halves it at best), written on g1's primary itself. */
const BIG = 'g1_filler';
const BIG_ROWS = 3_000_000;

interface BackupJson {
  backup: BackupRecord;
  restorePoint: RestorePointRecord;
}
type RestoreJson = GroupRunJson<RestoreClusterResult>;

/** Whether pgBackRest's backup (not an archive-push) of stanza g1 runs in the member's container. */
async function backupRunsIn(member: string): Promise<boolean> {
  const top = (await docker.getContainer(containerOf(c, member)).top({ ps_args: '-eo pid,args' })) as {
    Processes?: string[][];
  };
  return (top.Processes ?? []).some((p) => {
    const args = p.join(' ');
    return /pgbackrest/.test(args) && /--stanza=g1/.test(args) && /\sbackup(\s|$)/.test(args);
  });
}

describe('a backup during a failover of g1', () => {
  upSourceAndRestoredForFile(c, { name: c2.name, specFile: restoredSpecFile }, { downBackups: true });

  let recorded: BackupJson;

  it('g1 holds a big table; backup started; g1-a killed while its base backup runs; failover to g1-b', async () => {
    fs.writeFileSync(restoredSpecFile, stringify(restoredInput));
    await su(c, 'g1-a', async (cl) => {
      await cl.query(
        `CREATE TABLE ${BIG} AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) || ` +
          `md5((g * 31)::text) AS pad FROM generate_series(1, ${BIG_ROWS}) g`,
      );
    });
    const size = await su(
      c,
      'g1-a',
      async (cl) =>
        (await cl.query<{ s: string }>(`SELECT pg_size_pretty(pg_database_size('postgres')) AS s`)).rows[0]!.s,
    );
    console.log(`[backup-failover] g1's database: ${size}`);

    const run = startCli(['backup', '--json', '-c', c.specFile], c.env, 12 * 60_000);
    try {
      await waitFor(
        'pgBackRest backing up g1 in g1-a',
        async () => ((await backupRunsIn('g1-a')) ? true : undefined),
        120_000,
        50,
      );
      await sleep(300); // copying files by now
      await killMember(c, 'g1-a');
      const failover = await cliJson<GroupRunJson<FailoverResultJson>>(c, ['failover', 'g1'], {
        timeoutMs: 4 * 60_000,
      });
      expect(failover.result.newPrimary).toBe('g1-b');
    } catch (err) {
      run.child.kill('SIGKILL');
      throw err;
    }
    const r = await run.done;
    // The design: the killed attempt fails retryably, the workflow retries g1 on its current primary.
    if (r.code !== 0) throw new Error(`the backup did not finish on the new primary: ${describeRun(r)}`);
    const done = JSON.parse(r.stdout) as GroupRunJson<BackupJson>;
    const detail = done.steps.find((s) => s.name === 'base backups')?.detail ?? '';
    console.log(`[backup-failover] the backup finished on the new primary: ${detail}`);
    recorded = done.result;
    const g1 = recorded.backup.groups.g1!;
    expect(g1.member).toBe('g1-b');
    expect(g1.timeline).toBeGreaterThanOrEqual(2); // taken after the promotion
    expect(recorded.restorePoint.groups.g1?.primary).toBe('g1-b');
    // pgBackRest's own view: stanza g1 holds this run's backup, taken on g1-b, with the recorded label.
    const [info] = await stanzaInfo(docker, backupHost, 'g1');
    const b = info!.backup.find((x) => x.annotation?.[BACKUP_ID_ANNOTATION] === recorded.backup.id && !x.error);
    expect(b?.label).toBe(g1.label);
    expect(b?.annotation?.[BACKUP_MEMBER_ANNOTATION]).toBe('g1-b');
    expect(b?.info.size).toBeGreaterThan(200 * 1024 * 1024); // the big table is in it
  });

  it('a restore from that backup: the counts of its restore point and g1s big table', async () => {
    const point = recorded.restorePoint;
    const r = await cliJson<RestoreJson>(
      c,
      ['restore', '--as', c2.name, '--from', c.name, '--to', point.name, '--no-monitor'],
      { specFile: restoredSpecFile, timeoutMs: 12 * 60_000 },
    );
    expect(r.ok).toBe(true);
    expect(r.result.primaries.g1).toBe('g1-b');
    const tables = Object.keys(point.rowCounts ?? {});
    expect(tables.length).toBeGreaterThanOrEqual(1);
    expect(await tableCounts(c2, tables)).toEqual(point.rowCounts);
    const big = await su(c2, 'g1-b', async (cl) =>
      Number((await cl.query<{ n: string }>(`SELECT count(*) AS n FROM ${BIG}`)).rows[0]!.n),
    );
    expect(big).toBe(BIG_ROWS);
  });
});
