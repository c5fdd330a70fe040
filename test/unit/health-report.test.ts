/**
 * The health verdict (common/health-report.ts): a healthy cluster has no problem; each fault, one
 * change away from healthy, degrades it with a problem naming the member or part; notes never degrade.
 */
import { describe, expect, it } from '@jest/globals';
import type {
  CitusObservation,
  EtcdObservation,
  MonitorObservation,
  NodeObservation,
  NodeSqlView,
  PgBouncerObservation,
} from '../../common/health-observation';
import { buildHealthReport, livePrimaries, problemText, type HealthInput } from '../../common/health-report';
import { lsnBytes } from '../../common/lsn';
import { parseSpec } from '../../common/spec';
import { parseDiskOutput } from '../../activities/monitor/health-nodes';

const spec = parseSpec({
  name: 'hc',
  workers: ['g1'],
  members: [
    { name: 'coord-a', group: 'coordinator', port: 15001 },
    { name: 'coord-b', group: 'coordinator', port: 15002 },
    { name: 'g1-a', group: 'g1', port: 15003 },
    { name: 'g1-b', group: 'g1', port: 15004 },
  ],
});
const AT = Date.parse('2025-01-01T12:00:00Z');
const GiB = 1024 ** 3;

const primarySql = (standby: string, over: Partial<NodeSqlView> = {}): NodeSqlView => ({
  ok: true,
  inRecovery: false,
  timeline: 1,
  lsn: '0/3000060',
  replayLsn: null,
  receiver: null,
  replication: [{ standby, state: 'streaming', syncState: 'sync', lagBytes: 0, lagSeconds: null }],
  slots: [{ name: `citusctl_${standby.replace(/-/g, '_')}`, active: true, walStatus: 'reserved', retainedBytes: 1024 }],
  syncNames: `ANY 1 ("${standby}")`,
  ...over,
});
const standbySql = (primary: string, over: Partial<NodeSqlView> = {}): NodeSqlView => ({
  ok: true,
  inRecovery: true,
  timeline: 1,
  lsn: '0/3000060',
  replayLsn: '0/3000060',
  receiver: { status: 'streaming', senderHost: primary },
  replication: [],
  slots: [],
  syncNames: '',
  ...over,
});
const disk = {
  ok: true as const,
  path: '/var/lib/postgresql/citusctl',
  usedBytes: 50e6,
  fsSizeBytes: 100 * GiB,
  fsAvailBytes: 60 * GiB,
};
const node = (member: string, sql: NodeObservation['sql'], over: Partial<NodeObservation> = {}): NodeObservation => ({
  member,
  container: 'running',
  sql,
  disk,
  ...over,
});

function healthy(): HealthInput {
  const etcd: EtcdObservation = {
    ok: true,
    version: '3.5.17',
    dbSizeBytes: 20480,
    leader: '1',
    alarms: [],
    primaries: { coordinator: 'coord-a', g1: 'g1-a' },
    memberStates: { 'coord-a': 'primary', 'coord-b': 'standby', 'g1-a': 'primary', 'g1-b': 'standby' },
  };
  const citus: CitusObservation = {
    ok: true,
    coordinator: 'coord-a',
    nodeHealth: {
      available: true,
      rows: [
        { from: 'coord-a', fromPort: 5432, to: 'g1-a', toPort: 5432, result: true },
        { from: 'g1-a', fromPort: 5432, to: 'coord-a', toPort: 5432, result: true },
      ],
    },
    distNodes: [
      {
        nodeid: 1,
        groupid: 0,
        nodename: 'coord-a',
        nodeport: 5432,
        noderole: 'primary',
        isactive: true,
        hasmetadata: true,
        metadatasynced: true,
      },
      {
        nodeid: 2,
        groupid: 1,
        nodename: 'g1-a',
        nodeport: 5432,
        noderole: 'primary',
        isactive: true,
        hasmetadata: true,
        metadatasynced: true,
      },
    ],
  };
  const pgbouncer: PgBouncerObservation = {
    ok: true,
    database: { host: 'coord-a', paused: false },
    pools: [
      {
        database: 'postgres',
        user: 'app',
        clActive: 1,
        clWaiting: 0,
        svActive: 0,
        svIdle: 1,
        svUsed: 0,
        maxWaitSeconds: 0,
        poolMode: 'transaction',
      },
    ],
  };
  const monitor: MonitorObservation = {
    workflowId: 'monitor-hc',
    status: 'RUNNING',
    view: {
      state: 'watching',
      maintenance: { cluster: false, groups: [] },
      lastProbeAt: new Date(AT - 5_000).toISOString(),
    },
  };
  return {
    spec,
    at: AT,
    nodes: [
      node('coord-a', primarySql('coord-b')),
      node('coord-b', standbySql('coord-a')),
      node('g1-a', primarySql('g1-b')),
      node('g1-b', standbySql('g1-a')),
    ],
    etcd,
    citus,
    pgbouncer,
    monitor,
  };
}

/** healthy() with one change. */
function withChange(change: (i: HealthInput) => void): HealthInput {
  const i = healthy();
  change(i);
  return i;
}
const setNode = (i: HealthInput, member: string, n: Partial<NodeObservation>) => {
  i.nodes = i.nodes.map((x) => (x.member === member ? { ...x, ...n } : x));
};
const ok = <T extends { ok: boolean }>(v: T) => v as Extract<T, { ok: true }>;

describe('buildHealthReport', () => {
  it('a healthy cluster: healthy, no problem, every member with role, lag and slot', () => {
    const r = buildHealthReport(healthy());
    expect(r.status).toBe('healthy');
    expect(r.problems).toEqual([]);
    expect(r.members.find((m) => m.name === 'g1-b')).toMatchObject({
      role: 'standby',
      livePrimary: false,
      streaming: true,
      syncState: 'sync',
      lagBytes: 0,
      lagSeconds: 0,
      slot: 'citusctl_g1_b',
      slotRetainedBytes: 1024,
      state: 'standby',
    });
    expect(r.members.find((m) => m.name === 'g1-a')).toMatchObject({
      role: 'primary',
      livePrimary: true,
      lagBytes: null,
      slot: null,
    });
    expect(r.groups).toEqual([
      {
        group: 'coordinator',
        primary: 'coord-a',
        primaryFromSpec: false,
        streaming: ['coord-b'],
        synchronous: ['coord-b'],
      },
      { group: 'g1', primary: 'g1-a', primaryFromSpec: false, streaming: ['g1-b'], synchronous: ['g1-b'] },
    ]);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r); // plain JSON: a workflow result and an etcd value
  });

  const cases: Array<[string, (i: HealthInput) => void, RegExp[]]> = [
    [
      'a stopped standby',
      (i) =>
        setNode(i, 'g1-b', {
          container: 'exited',
          sql: { ok: false, error: 'connect ECONNREFUSED' },
          disk: { ok: false, error: 'container exited' },
        }),
      [/^g1-b: container exited$/],
    ],
    [
      'a paused primary container',
      (i) => setNode(i, 'g1-a', { container: 'paused', sql: { ok: false, error: 'timeout' } }),
      [/^g1-a: container paused$/],
    ],
    [
      'a member that does not answer SQL',
      (i) => setNode(i, 'coord-b', { sql: { ok: false, error: 'password authentication failed' } }),
      [/^coord-b: does not answer SQL: password authentication failed$/],
    ],
    [
      'a standby that does not stream',
      (i) => {
        setNode(i, 'g1-b', { sql: standbySql('g1-a', { receiver: null }) });
        setNode(i, 'g1-a', { sql: primarySql('g1-b', { replication: [] }) });
      },
      [/^g1-b: does not stream from g1-a$/, /^g1: no synchronous standby/],
    ],
    [
      'a standby far behind in bytes',
      (i) =>
        setNode(i, 'g1-a', {
          sql: primarySql('g1-b', {
            replication: [
              { standby: 'g1-b', state: 'streaming', syncState: 'sync', lagBytes: 200 * 1024 * 1024, lagSeconds: 2 },
            ],
          }),
        }),
      [/^g1-b: 200\.0 MiB of WAL behind g1-a$/],
    ],
    [
      'a standby far behind in seconds',
      (i) =>
        setNode(i, 'g1-a', {
          sql: primarySql('g1-b', {
            replication: [{ standby: 'g1-b', state: 'streaming', syncState: 'sync', lagBytes: 100, lagSeconds: 95 }],
          }),
        }),
      [/^g1-b: replay 95 s behind g1-a$/],
    ],
    [
      'a slot that retains too much WAL',
      (i) =>
        setNode(i, 'g1-a', {
          sql: primarySql('g1-b', {
            slots: [{ name: 'citusctl_g1_b', active: false, walStatus: 'extended', retainedBytes: 3 * GiB }],
          }),
        }),
      [/^g1-b: its slot citusctl_g1_b on g1-a retains 3072\.0 MiB of WAL$/],
    ],
    [
      'a second writable member',
      (i) => setNode(i, 'g1-b', { sql: primarySql('g1-a', { replication: [] }) }),
      [/^g1-b: accepts writes, but etcd names g1-a the primary of g1/],
    ],
    [
      'etcd names a primary that is in recovery',
      (i) => {
        if (i.etcd.ok) i.etcd.primaries.g1 = 'g1-b';
        i.citus = {
          ...ok(i.citus),
          distNodes: ok(i.citus).distNodes.map((n) => (n.nodename === 'g1-a' ? { ...n, nodename: 'g1-b' } : n)),
        };
      },
      [/^g1-b: etcd names it the primary of g1, but it is in recovery$/, /^g1-a: accepts writes, but etcd names g1-b/],
    ],
    [
      'a fenced member',
      (i) => {
        if (i.etcd.ok) i.etcd.memberStates['coord-b'] = 'fenced';
        setNode(i, 'coord-b', { container: 'exited', sql: { ok: false, error: 'refused' } });
      },
      [/^coord-b: fenced \(member state in etcd\)$/, /^coord-b: container exited$/],
    ],
    [
      'no synchronous standby in a synchronous cluster',
      (i) =>
        setNode(i, 'g1-a', {
          sql: primarySql('g1-b', {
            replication: [{ standby: 'g1-b', state: 'streaming', syncState: 'async', lagBytes: 0, lagSeconds: null }],
          }),
        }),
      [/^g1: no synchronous standby: commits on g1-a/],
    ],
    [
      'a full volume',
      (i) => setNode(i, 'g1-b', { disk: { ...disk, fsSizeBytes: 100 * GiB, fsAvailBytes: 5 * GiB } }),
      [/^g1-b: the filesystem of its volume is 95% full/],
    ],
    [
      'citus: a node that cannot reach another',
      (i) => {
        i.citus = {
          ...ok(i.citus),
          nodeHealth: {
            available: true,
            rows: [
              { from: 'coord-a', fromPort: 5432, to: 'g1-a', toPort: 5432, result: false },
              { from: 'g1-a', fromPort: 5432, to: 'coord-a', toPort: 5432, result: null },
            ],
          },
        };
      },
      [/^citus: node health: g1-a unreachable from coord-a$/, /^citus: node health: the coordinator cannot ask g1-a$/],
    ],
    [
      'citus: pg_dist_node names the old primary',
      (i) => {
        i.citus = {
          ...ok(i.citus),
          distNodes: ok(i.citus).distNodes.map((n) => (n.nodename === 'g1-a' ? { ...n, nodename: 'g1-b' } : n)),
        };
      },
      [/^citus: pg_dist_node names g1-b a primary of g1, etcd names g1-a$/],
    ],
    [
      'citus: no primary of a group',
      (i) => {
        i.citus = { ...ok(i.citus), distNodes: ok(i.citus).distNodes.filter((n) => n.groupid === 0) };
      },
      [/^citus: pg_dist_node has no primary of g1 \(etcd names g1-a\)$/],
    ],
    [
      'citus: the coordinator row names another member',
      (i) => {
        i.citus = {
          ...ok(i.citus),
          distNodes: ok(i.citus).distNodes.map((n) => (n.groupid === 0 ? { ...n, nodename: 'coord-b' } : n)),
        };
      },
      [/^citus: pg_dist_node names coord-b the coordinator, etcd names coord-a$/],
    ],
    [
      'citus: metadata not synced',
      (i) => {
        i.citus = {
          ...ok(i.citus),
          distNodes: ok(i.citus).distNodes.map((n) => (n.nodename === 'g1-a' ? { ...n, metadatasynced: false } : n)),
        };
      },
      [/^citus: metadata not synced to g1-a:5432$/],
    ],
    [
      'citus: the coordinator does not answer',
      (i) => (i.citus = { ok: false, coordinator: 'coord-a', error: 'timeout' }),
      [/^citus: cannot read the metadata on the coordinator coord-a: timeout$/],
    ],
    [
      'pgbouncer: unreachable',
      (i) => (i.pgbouncer = { ok: false, error: 'ECONNREFUSED' }),
      [/^pgbouncer: admin console not reachable: ECONNREFUSED$/],
    ],
    [
      'pgbouncer: routes to a standby',
      (i) => (i.pgbouncer = { ...ok(i.pgbouncer), database: { host: 'coord-b', paused: false } }),
      [/^pgbouncer: routes to coord-b, the coordinator primary is coord-a$/],
    ],
    [
      'pgbouncer: left paused',
      (i) => (i.pgbouncer = { ...ok(i.pgbouncer), database: { host: 'coord-a', paused: true } }),
      [/^pgbouncer: the cluster database is paused/],
    ],
    [
      'pgbouncer: clients waiting',
      (i) =>
        (i.pgbouncer = {
          ...ok(i.pgbouncer),
          pools: [{ ...ok(i.pgbouncer).pools[0]!, clWaiting: 4, maxWaitSeconds: 12 }],
        }),
      [/^pgbouncer: 4 client\(s\) of app@postgres wait for a server \(oldest 12 s\)$/],
    ],
    [
      'etcd: unreachable (primaries from the spec)',
      (i) => (i.etcd = { ok: false, error: 'deadline exceeded' }),
      [/^etcd: not reachable: deadline exceeded$/],
    ],
    [
      'etcd: an alarm',
      (i) => {
        if (i.etcd.ok) i.etcd.alarms = ['NOSPACE on member 1'];
      },
      [/^etcd: alarm NOSPACE on member 1$/],
    ],
    [
      'monitor: not running',
      (i) => (i.monitor = { workflowId: 'monitor-hc', status: 'TERMINATED' }),
      [/^monitor: monitor-hc is terminated: nothing heals the cluster/],
    ],
    [
      'monitor: never started',
      (i) => (i.monitor = { workflowId: 'monitor-hc', status: 'NOT_FOUND' }),
      [/^monitor: monitor-hc has never run/],
    ],
    [
      'monitor: no worker answers',
      (i) => (i.monitor = { workflowId: 'monitor-hc', status: 'RUNNING', error: 'deadline' }),
      [/^monitor: monitor-hc runs but does not answer its status query/],
    ],
    [
      'monitor: stale probe',
      (i) =>
        (i.monitor = { ...i.monitor, view: { ...i.monitor.view!, lastProbeAt: new Date(AT - 300_000).toISOString() } }),
      [/^monitor: monitor-hc last probed 300 s ago$/],
    ],
    [
      'monitor: never probed',
      (i) => (i.monitor = { ...i.monitor, view: { state: 'starting', maintenance: { cluster: false, groups: [] } } }),
      [/^monitor: monitor-hc has not probed the cluster yet$/],
    ],
    [
      'a workflow stuck on a failing workflow task',
      (i) =>
        (i.monitor = {
          ...i.monitor,
          stuckWorkflows: [
            {
              workflowId: 'failover-hc-g1',
              runId: 'r',
              type: 'failoverGroup',
              attempt: 4,
              failure: "Cannot read properties of undefined (reading 'clean')",
            },
          ],
        }),
      [
        new RegExp(
          '^failover-hc-g1: failoverGroup: its workflow task keeps failing \\(attempt 4\\): ' +
            "Cannot read properties of undefined \\(reading 'clean'\\); it makes no progress",
        ),
      ],
    ],
  ];

  it.each(cases)('%s: degraded, naming it', (_name, change, expected) => {
    const r = buildHealthReport(withChange(change));
    const texts = r.problems.map(problemText);
    expect(r.status).toBe('degraded');
    for (const re of expected) expect(texts).toEqual(expect.arrayContaining([expect.stringMatching(re)]));
    expect(texts).toHaveLength(expected.length);
  });

  const notes: Array<[string, (i: HealthInput) => void, RegExp | null]> = [
    [
      'maintenance',
      (i) =>
        (i.monitor = {
          ...i.monitor,
          view: { ...i.monitor.view!, maintenance: { cluster: false, groups: ['g1'], reason: 'upgrade' } },
        }),
      /^monitor: maintenance \(groups g1: upgrade\): no automatic repair$/,
    ],
    [
      'no citus_check_cluster_node_health()',
      (i) =>
        (i.citus = {
          ...ok(i.citus),
          nodeHealth: { available: false, reason: 'this Citus has no citus_check_cluster_node_health()' },
        }),
      /^citus: citus_check_cluster_node_health\(\) unavailable/,
    ],
    [
      'no primary record in etcd',
      (i) => {
        if (i.etcd.ok) delete i.etcd.primaries.g1;
      },
      /^g1: etcd has no primary record; g1-a \(the spec's first member\) assumed$/,
    ],
    [
      'a volume not measured',
      (i) => setNode(i, 'g1-b', { disk: { ok: false, error: 'du/df: no answer within 15000 ms' } }),
      null,
    ],
  ];

  it.each(notes)('%s: a note, still healthy', (_name, change, note) => {
    const r = buildHealthReport(withChange(change));
    expect(r.problems).toEqual([]);
    expect(r.status).toBe('healthy');
    if (note) expect(r.notes).toEqual(expect.arrayContaining([expect.stringMatching(note)]));
  });

  it('a standby missing from pg_stat_replication: lag from the LSNs', () => {
    const r = buildHealthReport(
      withChange((i) => {
        setNode(i, 'g1-a', { sql: primarySql('g1-b', { lsn: '1/00000100', replication: [] }) });
        setNode(i, 'g1-b', { sql: standbySql('g1-a', { receiver: null, replayLsn: '0/FFFFFF00', lsn: '0/FFFFFF00' }) });
      }),
    );
    expect(r.members.find((m) => m.name === 'g1-b')).toMatchObject({
      streaming: false,
      lagBytes: 0x200,
      lagSeconds: null,
    });
  });

  it('a dead primary: the primary is named, its standbys are not blamed for not streaming', () => {
    const r = buildHealthReport(
      withChange((i) => setNode(i, 'g1-a', { container: 'exited', sql: { ok: false, error: 'refused' } })),
    );
    expect(r.problems.map(problemText)).toEqual(['g1-a: container exited']);
  });
});

describe('helpers', () => {
  it.each([
    ['0/0', 0n],
    ['0/3000060', 0x3000060n],
    ['1/0', 1n << 32n],
    ['16/B374D848', (0x16n << 32n) + 0xb374d848n],
    ['junk', null],
    [null, null],
  ])('lsnBytes(%s)', (lsn, bytes) => expect(lsnBytes(lsn)).toBe(bytes));

  it('livePrimaries: etcd when it names a member of the group, else the spec', () => {
    const etcd: EtcdObservation = {
      ok: true,
      version: '',
      dbSizeBytes: 0,
      leader: '',
      alarms: [],
      primaries: { coordinator: 'g1-a', g1: 'g1-b' },
      memberStates: {},
    };
    expect(livePrimaries(spec, etcd)).toEqual({
      coordinator: { primary: 'coord-a', fromSpec: true },
      g1: { primary: 'g1-b', fromSpec: false },
    });
    expect(livePrimaries(spec, { ok: false, error: 'x' })).toEqual({
      coordinator: { primary: 'coord-a', fromSpec: true },
      g1: { primary: 'g1-a', fromSpec: true },
    });
  });

  it('parseDiskOutput: du bytes, then the df line', () => {
    expect(
      parseDiskOutput(
        '52428800\n/dev/sda1 107374182400 40000000000 64424509440 39% /var/lib/postgresql/citusctl\n',
        '/v',
      ),
    ).toEqual({ ok: true, path: '/v', usedBytes: 52428800, fsSizeBytes: 107374182400, fsAvailBytes: 64424509440 });
    expect(parseDiskOutput('du: cannot access\n', '/v')).toMatchObject({ ok: false });
  });
});
