/**
 * The verification's pure decisions (common/backup-verification.ts): the scratch cluster's name,
 * table names compared whatever their quoting, and the verdict on what the restored cluster holds.
 */
import {
  scratchClusterName,
  scratchRestoreInput,
  tableKey,
  verificationOutcome,
  type RestoredClusterView,
} from '../../common/backup-verification';
import { dnsName } from '../../common/spec';

const healthy: RestoredClusterView['nodeHealth'] = {
  ok: true,
  rows: [
    { from: 'coord-a', fromPort: 5432, to: 'g1-a', toPort: 5432, result: true },
    { from: 'g1-a', fromPort: 5432, to: 'coord-a', toPort: 5432, result: true },
  ],
};

describe('scratchClusterName', () => {
  test('a valid cluster name of at most 31 characters, from any cluster name', () => {
    const at = new Date('2026-12-07T04:00:00Z');
    for (const c of ['demo', 'a', 'a-very-long-cluster-name-of-31c', 'abcdefghijklmnopqrs-uvwxyz']) {
      const s = scratchClusterName(c, at);
      expect(s.length).toBeLessThanOrEqual(31);
      expect(dnsName.safeParse(s).success).toBe(true);
      expect(s.startsWith(c.slice(0, 20).replace(/-+$/, ''))).toBe(true);
    }
    expect(scratchClusterName('demo', at)).toBe(`demo-v${(Date.parse('2026-12-07T04:00:00Z') / 1000).toString(36)}`);
  });

  test('one per second: two runs a second apart get two names', () => {
    const a = scratchClusterName('demo', new Date(1_000_000_000_000));
    const b = scratchClusterName('demo', new Date(1_000_000_001_000));
    expect(a).not.toBe(b);
  });

  test('the restore child builds it from the backup, to the restore point, on free ports, as scratch', () => {
    expect(scratchRestoreInput('demo', 'demo-vx', 'b-1')).toEqual({
      as: 'demo-vx',
      from: 'demo',
      target: { point: 'b-1' },
      freePorts: true,
      scratch: true,
    });
  });
});

test('tableKey: quoting and the default schema do not make two tables', () => {
  expect(tableKey('demo')).toBe('public.demo');
  expect(tableKey('public.demo')).toBe('public.demo');
  expect(tableKey('"public"."demo"')).toBe('public.demo');
  expect(tableKey('app."Orders"')).toBe('app.Orders');
  expect(tableKey('"a.b".c')).toBe('a.b.c');
});

describe('verificationOutcome', () => {
  test('every recorded table found with its count, every node reachable: ok', () => {
    const o = verificationOutcome(
      { 'public.demo': 1000, 'public.ref': 3 },
      {
        tables: [
          { name: 'public.demo', rows: 1000 },
          { name: 'ref', rows: 3 },
        ],
        nodeHealth: healthy,
      },
    );
    expect(o).toEqual({
      ok: true,
      problems: [],
      tables: { 'public.demo': { expected: 1000, found: 1000 }, 'public.ref': { expected: 3, found: 3 } },
    });
  });

  test('a wrong count, a missing table, an unreadable table and an unreachable node: each named', () => {
    const o = verificationOutcome(
      { 'public.demo': 1000, 'public.gone': 5 },
      {
        tables: [
          { name: 'public.demo', rows: 990 },
          { name: 'public.broken', rows: null, error: 'could not read block 0' },
        ],
        nodeHealth: {
          ok: true,
          rows: [...healthy.rows, { from: 'coord-a', fromPort: 5432, to: 'g2-a', toPort: 5432, result: false }],
        },
      },
    );
    expect(o.ok).toBe(false);
    expect(o.problems).toEqual([
      'public.demo: 990 rows, the restore point recorded 1000',
      'public.broken: not readable: could not read block 0',
      'public.gone: recorded at the restore point (5 rows), missing in the restore',
      'node health: coord-a:5432 cannot reach g2-a:5432',
    ]);
    expect(o.tables['public.demo']).toEqual({ expected: 1000, found: 990 });
  });

  test('a point without counts proves readability and node health only; a missing health check is a problem', () => {
    expect(verificationOutcome(null, { tables: [{ name: 'public.demo', rows: 7 }], nodeHealth: healthy })).toEqual({
      ok: true,
      problems: [],
      tables: { 'public.demo': { expected: null, found: 7 } },
    });
    expect(
      verificationOutcome(null, { tables: [], nodeHealth: { ok: false, error: 'connection refused' } }).problems,
    ).toEqual(['citus_check_cluster_node_health(): connection refused']);
  });
});
