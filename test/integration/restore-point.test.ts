/**
 * Cluster-wide restore points on a running cluster, through the built CLI (coord-a/coord-b,
 * g1-a/g1-b, g2-a/g2-b; ports 31150-31157, Temporal 32151), with archiving as `up` sets it:
 * - `up` creates the Schedule `restore-point-<cluster>` (every backup.restorePointMinutes).
 * - `citusctl restore-point rp-one` while numbered writers insert through PgBouncer and (real
 *   Citus) multi-shard two-row transactions are started on the coordinator AND on a worker primary
 *   (a metadata worker runs distributed transactions itself: Citus 13 does not hold those): no
 *   client error; the recorded row count of the writers' table lies between the rows acknowledged
 *   before the call and those acknowledged by its end; the pairs' table holds whole pairs only.
 * - The point's name is in every group's archived WAL (pgbackrest archive-get of the recorded
 *   segment, read with pg_waldump).
 * - A commit lock held on a worker: the point's attempts give their locks up (lock_timeout) and try
 *   again, and the point is made once the lock is free.
 * - A second request of a recorded name is refused, and a bad name is refused before anything runs.
 * On the test double there are no distributed transactions (its tables stay on the coordinator):
 * the worker-started transactions run on real Citus only (CITUSCTL_IMAGE_POSTGRES=citusctl-local/citus-real:17).
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { describe, expect, it, jest } from '@jest/globals';
import type { Client } from 'pg';
import type { RestorePointRecord } from '../../common/backup-records';
import { execIn } from '../../lib/docker/docker-helpers';
import { PGBACKREST_CONF } from '../../lib/backup/pgbackrest-config';
import {
  citusVersion,
  docker,
  isDouble,
  layout,
  makeCluster,
  runCli,
  sleep,
  su,
  withMonitor,
  type TestCluster,
} from './support/cluster';
import { cliJson, containerOf, livePrimaries, type GroupRunJson } from './support/failover';
import { numberedWriters } from './support/numbered-writers';
import { upClusterForFile } from './support/up-cluster';

jest.setTimeout(15 * 60_000);

const WRITES = 'rp_writes';
const PAIRS = 'rp_pairs';
const c: TestCluster = withMonitor(
  makeCluster(layout({ name: 'it-rpoint', basePort: 31150, temporalPort: 32151, rows: 100, shardCount: 4 }), 32151),
);

/**
 * Two-row transactions (rows on different shards: Citus commits them in two phases) in a loop on
 * one member, straight to it as superuser; counts its errors. `base` keeps each loop's ids apart.
 */
function pairWriter(member: string, base: number) {
  let stopped = false;
  let committed = 0;
  const errors: string[] = [];
  const running = su(c, member, async (cl: Client) => {
    for (let i = 1; !stopped; i++) {
      const id = base + i;
      try {
        await cl.query(
          `BEGIN; INSERT INTO ${PAIRS} (id, pair) VALUES (${id}, ${id}), (${id + 500_000_000}, ${id}); COMMIT`,
        );
        committed++;
      } catch (err) {
        errors.push(`pair ${id} on ${member}: ${(err as Error).message}`);
        await cl.query('ROLLBACK').catch(() => undefined);
      }
      await sleep(10);
    }
  });
  return {
    errors,
    committed: () => committed,
    async stop() {
      stopped = true;
      await running;
    },
  };
}

const PG_WALDUMP = '/usr/lib/postgresql/17/bin/pg_waldump';

/** How many times the point's name is in the group's archived segment (archive-get, then pg_waldump). */
async function pointsInArchivedSegment(group: string, member: string, walFile: string, name: string): Promise<number> {
  // pg_waldump reads the segment's position from its file name: keep the name, in a directory of its own.
  const dir = `/tmp/rp-check-${group}`;
  const file = `${dir}/${walFile}`;
  const r = await execIn(
    docker,
    containerOf(c, member),
    [
      'sh',
      '-c',
      `mkdir -p ${dir} && ` +
        `pgbackrest --config=${PGBACKREST_CONF} --stanza=${group} archive-get ${walFile} ${file} >&2 && ` +
        // pg_waldump ends with an error at the switch's unused tail: only its records matter.
        `{ ${PG_WALDUMP} ${file} 2>/dev/null || true; } | grep -c "RESTORE_POINT ${name}\\b"; ` +
        `rm -rf ${dir}`,
    ],
    'postgres',
  );
  return Number(r.stdout.trim() || '0');
}

describe('restore points', () => {
  const t = upClusterForFile(c, {
    afterUp: async () => {
      const coordinator = (await livePrimaries(c)).coordinator!;
      await su(c, coordinator, async (cl) => {
        await cl.query(`CREATE TABLE IF NOT EXISTS ${WRITES} (id bigint PRIMARY KEY)`);
        await cl.query(`CREATE TABLE IF NOT EXISTS ${PAIRS} (id bigint PRIMARY KEY, pair bigint NOT NULL)`);
        await cl.query(`GRANT SELECT, INSERT ON ${WRITES} TO app`);
        for (const table of [WRITES, PAIRS])
          await cl.query(
            `SELECT create_distributed_table('${table}', 'id') WHERE NOT EXISTS ` +
              `(SELECT 1 FROM pg_dist_partition WHERE logicalrelid = '${table}'::regclass)`,
          );
      });
    },
  });
  let double = true;

  it('`up` made the schedule restore-point-<cluster>', async () => {
    double = isDouble(await citusVersion(c, (await livePrimaries(c)).coordinator!));
    const d = await t.client.schedule.getHandle(`restore-point-${c.name}`).describe();
    expect(d.spec.intervals?.map((i) => i.every)).toEqual([c.spec.backup.restorePointMinutes * 60_000]);
    expect(d.action).toMatchObject({ workflowType: 'restorePoint', args: [{ cluster: c.name, rowCounts: false }] });
  });

  it('a point under writers and multi-shard transactions: no client error, counts within acks', async () => {
    const primaries = await livePrimaries(c);
    const writers = numberedWriters(c, WRITES, 4);
    const pairs = [pairWriter(primaries.coordinator!, 0)];
    if (double) console.log('[restore-point] test double: no transactions started on a worker (no distributed tables)');
    else pairs.push(pairWriter(primaries.g1!, 100_000_000));
    let r: GroupRunJson<RestorePointRecord>;
    let before: number;
    let after: number;
    try {
      await writers.waitFor(40);
      before = writers.acked.length;
      r = await cliJson<GroupRunJson<RestorePointRecord>>(c, ['restore-point', 'rp-one'], { timeoutMs: 300_000 });
      after = writers.acked.length;
      await writers.waitFor(20);
    } finally {
      await writers.stop();
      for (const p of pairs) await p.stop();
    }
    const point = r!.result;
    console.log(
      `[restore-point] rp-one: writes held ${point.pauseMs} ms; ${WRITES} ${before!}..${after!} acknowledged, ` +
        `${point.rowCounts?.[`"public"."${WRITES}"`]} counted; pairs committed ` +
        `${pairs.map((p) => p.committed()).join(', ')}; groups ${JSON.stringify(point.groups)}`,
    );
    expect(writers.errors).toEqual([]);
    expect(pairs.flatMap((p) => p.errors)).toEqual([]);
    expect(pairs.every((p) => p.committed() > 0)).toBe(true);
    expect(point).toMatchObject({ name: 'rp-one', cluster: c.name, origin: 'manual' });
    expect(Object.keys(point.groups).sort()).toEqual(['coordinator', 'g1', 'g2']);
    const counted = point.rowCounts![`"public"."${WRITES}"`]!;
    expect(counted).toBeGreaterThanOrEqual(before!);
    expect(counted).toBeLessThanOrEqual(after!);
    // Two rows per transaction: a point inside a transaction's commit would count one of them.
    expect(point.rowCounts![`"public"."${PAIRS}"`]! % 2).toBe(0);

    for (const [group, g] of Object.entries(point.groups))
      expect({ group, points: await pointsInArchivedSegment(group, g.primary, g.walFile, 'rp-one') }).toEqual({
        group,
        points: 1,
      });
  });

  it('--no-counts: a point without counts, also archived everywhere', async () => {
    const r = await cliJson<GroupRunJson<RestorePointRecord>>(c, ['restore-point', 'rp-nocount', '--no-counts']);
    expect(r.result.rowCounts).toBeNull();
    for (const [group, g] of Object.entries(r.result.groups))
      expect(await pointsInArchivedSegment(group, g.primary, g.walFile, 'rp-nocount')).toBe(1);
  });

  it('a commit lock held on a worker: the point gives its locks up, retries, is made once it is free', async () => {
    const g1 = (await livePrimaries(c)).g1!;
    let held!: () => void;
    const holding = new Promise<void>((r) => (held = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let releasedAt = 0;
    // A transaction holding what a distributed commit holds on g1 (ROW EXCLUSIVE on a commit-blocking catalog).
    const blocker = su(c, g1, async (cl) => {
      await cl.query('BEGIN; LOCK TABLE pg_catalog.pg_dist_partition IN ROW EXCLUSIVE MODE');
      held();
      await released;
      releasedAt = Date.now();
      await cl.query('COMMIT');
    });
    await holding;
    const point = cliJson<GroupRunJson<RestorePointRecord>>(c, ['restore-point', 'rp-blocked', '--no-counts'], {
      timeoutMs: 300_000,
    });
    // Separate waits for our EXCLUSIVE lock on g1: each attempt gave its locks up and a later one asked again.
    let waits = 0;
    try {
      await su(c, g1, async (w) => {
        let waiting = false;
        for (const deadline = Date.now() + 120_000; waits < 3 && Date.now() < deadline; await sleep(5)) {
          const r = await w.query<{ n: string }>(
            "SELECT count(*) AS n FROM pg_locks WHERE relation = 'pg_catalog.pg_dist_partition'::regclass " +
              "AND mode = 'ExclusiveLock' AND NOT granted",
          );
          const now = Number(r.rows[0]!.n) > 0;
          if (now && !waiting) waits++;
          waiting = now;
        }
      });
    } finally {
      release();
      await blocker;
    }
    const r = await point;
    console.log(`[restore-point] rp-blocked: ${waits} separate waits on g1; writes held ${r.result.pauseMs} ms`);
    expect(waits).toBe(3);
    // Made after the lock was released: an attempt that waited for it would have held writers meanwhile.
    expect(Date.parse(r.result.createdAt)).toBeGreaterThanOrEqual(releasedAt);
    for (const [group, g] of Object.entries(r.result.groups))
      expect(await pointsInArchivedSegment(group, g.primary, g.walFile, 'rp-blocked')).toBe(1);
  });

  it('a second request of a recorded name is refused; a bad name before anything runs', async () => {
    const again = await runCli(['restore-point', 'rp-one', '--json', '-c', c.specFile], c.env, 150_000);
    expect(again.code).toBe(1);
    expect((JSON.parse(again.stdout) as { error: string }).error).toMatch(
      /a restore point named "rp-one" exists already/,
    );
    const bad = await runCli(['restore-point', 'Not_Valid', '--json', '-c', c.specFile], c.env, 60_000);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, problems: [expect.stringMatching(/name/)] });
  });
});
