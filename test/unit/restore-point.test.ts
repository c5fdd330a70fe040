/** The pure parts of a restore point: the lock statements, the nodes check, retries, names, archive state. */
import {
  defaultPointName,
  lockRetryDelayMs,
  pointNameProblem,
  pointNodesProblem,
  sameRequest,
  segmentArchived,
  timelineOfWalFile,
} from '../../common/restore-point';
import {
  BEGIN_POINT,
  LOCK_GIVEN_UP_SQLSTATES,
  lockCatalogsStatement,
  lockTablesStatement,
  qualifiedName,
} from '../../lib/postgres/restore-point';
import { restorePointWorkflowId, restorePointScheduleId } from '../../common/workflow-ids';
import { ownedByCluster } from '../../common/cluster-workflows';
import type { RestorePointRecord } from '../../common/backup-records';

describe('the window statements', () => {
  test('the transaction opens with a short lock timeout (a waiting lock holds writers), a statement bound', () => {
    expect(BEGIN_POINT).toBe("BEGIN; SET LOCAL lock_timeout = '50ms'; SET LOCAL statement_timeout = '10s'");
  });
  test('tables in SHARE mode (writers wait, they do not fail), catalogs in EXCLUSIVE mode (reads go on)', () => {
    expect(lockTablesStatement(['"public"."events"', '"s"."Odd"'])).toBe(
      'LOCK TABLE "public"."events", "s"."Odd" IN SHARE MODE',
    );
    expect(lockCatalogsStatement(['pg_dist_node', 'pg_dist_transaction'])).toBe(
      'LOCK TABLE pg_catalog."pg_dist_node", pg_catalog."pg_dist_transaction" IN EXCLUSIVE MODE',
    );
  });
  test('lock_timeout, a deadlock and statement_timeout are the lock given up (retried)', () => {
    expect([...LOCK_GIVEN_UP_SQLSTATES].sort()).toEqual(['40P01', '55P03', '57014']);
  });
});

describe('the nodes locked are the nodes Citus commits through', () => {
  const reg = (...hosts: string[]) => hosts.map((host) => ({ host, port: 5432 }));
  test('the same worker primaries, in any order: fine', () => {
    expect(pointNodesProblem(['g2-a', 'g1-a'], reg('g1-a', 'g2-a'), 5432)).toBeUndefined();
    expect(pointNodesProblem([], [], 5432)).toBeUndefined();
  });
  test('a group re-pointed at another member, a worker added or missing, another port: refused, named', () => {
    expect(pointNodesProblem(['g1-a', 'g2-a'], reg('g1-b', 'g2-a'), 5432)).toMatch(
      /active primary workers \(g1-b, g2-a\) are not the worker primaries locked \(g1-a, g2-a\)/,
    );
    expect(pointNodesProblem(['g1-a'], reg('g1-a', 'g3-a'), 5432)).toBeDefined();
    expect(pointNodesProblem(['g1-a', 'g2-a'], reg('g1-a'), 5432)).toBeDefined();
    expect(pointNodesProblem(['g1-a'], [{ host: 'g1-a', port: 6432 }], 5432)).toMatch(/g1-a:6432/);
  });
});

describe('a lock given up is tried again', () => {
  test('after a growing pause, capped, jittered around its middle', () => {
    expect(lockRetryDelayMs(1, 0.5)).toBe(100);
    expect(lockRetryDelayMs(2, 0.5)).toBe(200);
    expect(lockRetryDelayMs(9, 0.5)).toBe(1000);
    expect(lockRetryDelayMs(1, 0)).toBe(50);
    expect(lockRetryDelayMs(1, 0.999)).toBeLessThanOrEqual(150);
  });
});

test('qualifiedName quotes both parts (a quote in a name is doubled)', () => {
  expect(qualifiedName({ schema: 'public', name: 'we"ird' })).toBe('"public"."we""ird"');
});

describe('names', () => {
  test('the default name is rp-<UTC time>, a valid point name', () => {
    const n = defaultPointName(new Date('2026-12-07T04:05:06.789Z'));
    expect(n).toBe('rp-20261207t040506z');
    expect(pointNameProblem(n)).toBeUndefined();
  });
  test.each(['Upper', '-leading', 'has space', '', 'x'.repeat(64)])('"%s" is refused', (n) => {
    expect(pointNameProblem(n)).toBeDefined();
  });
  test('63 characters is the longest PostgreSQL takes', () => {
    expect(pointNameProblem('a'.repeat(63))).toBeUndefined();
  });
  test('workflow and schedule ids, owned by their cluster for `down`', () => {
    expect(restorePointWorkflowId('demo', 'rp-1')).toBe('restore-point-demo-rp-1');
    expect(restorePointScheduleId('demo')).toBe('restore-point-demo');
    expect(ownedByCluster('restore-point-demo-rp-1', 'demo')).toBe(true);
    expect(ownedByCluster('restore-point-demo-2026-12-07T04:00:00Z', 'demo')).toBe(true);
    expect(ownedByCluster('restore-point-demo', 'demo')).toBe(true);
    expect(ownedByCluster('restore-point-demo2-rp-1', 'demo')).toBe(false);
    expect(ownedByCluster('restore-point-demo-x-rp-1', 'demo', ['demo-x'])).toBe(false);
  });
});

describe('segment archived', () => {
  const seg = '000000020000000000000005';
  test('the timeline is the first 8 hex digits', () => {
    expect(timelineOfWalFile(seg)).toBe(2);
    expect(timelineOfWalFile('0000000A0000000100000003')).toBe(10);
    expect(() => timelineOfWalFile('00000002.history')).toThrow(/not a WAL segment/);
  });
  test('.done: archived; .ready: not yet, whatever the archiver says', () => {
    expect(segmentArchived(seg, { ready: false, done: true, lastArchived: null })).toBe(true);
    expect(segmentArchived(seg, { ready: true, done: false, lastArchived: '000000020000000000000009' })).toBe(false);
  });
  test('neither file: the archiver must be at or past the segment (same or later timeline)', () => {
    expect(segmentArchived(seg, { ready: false, done: false, lastArchived: seg })).toBe(true);
    expect(segmentArchived(seg, { ready: false, done: false, lastArchived: '000000020000000000000004' })).toBe(false);
    expect(segmentArchived(seg, { ready: false, done: false, lastArchived: '000000030000000000000005' })).toBe(true);
    expect(segmentArchived(seg, { ready: false, done: false, lastArchived: null })).toBe(false);
  });
  test('a history, partial or backup file says nothing about whole segments', () => {
    for (const last of [
      '00000003.history',
      '000000020000000000000006.partial',
      '000000020000000000000006.00000028.backup',
    ])
      expect(segmentArchived(seg, { ready: false, done: false, lastArchived: last })).toBe(false);
  });
});

describe('a stored point is this request retried', () => {
  const stored = (over: Partial<RestorePointRecord>): RestorePointRecord => ({
    name: 'p',
    cluster: 'demo',
    createdAt: '2026-12-07T04:00:00.000Z',
    origin: 'manual',
    coordinatorLsn: '0/1',
    groups: {},
    rowCounts: null,
    pauseMs: 1,
    ...over,
  });
  test('the same run: yes; another run of the same name: refused, whatever the origin', () => {
    expect(sameRequest(stored({ request: 'restore-point-demo-p/r1' }), 'manual', 'restore-point-demo-p/r1')).toBe(true);
    expect(sameRequest(stored({ request: 'restore-point-demo-p/r1' }), 'manual', 'restore-point-demo-p/r2')).toBe(
      false,
    );
  });
  test('without run ids (made or asked outside a workflow): the same origin', () => {
    expect(sameRequest(stored({}), 'manual', 'w/r')).toBe(true);
    expect(sameRequest(stored({}), 'backup', undefined)).toBe(false);
  });
});
