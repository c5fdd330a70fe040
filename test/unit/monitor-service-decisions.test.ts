/**
 * The monitor's decisions about PgBouncer and etcd: a stopped container is started, a removed one
 * re-created, from Docker's word alone (etcd down does not hold etcd's own repair, nor PgBouncer's);
 * a container that runs, restarts, is paused or that Docker cannot tell about is left alone, and so
 * is everything under cluster maintenance or inside a backoff window.
 */
import {
  DEFAULT_THRESHOLDS,
  actionKey,
  decideCluster,
  decisionSignature,
  type DecisionContext,
} from '../../common/monitor-decisions';
import { decideServices } from '../../common/monitor-service-decisions';
import {
  emptyHistory,
  foldObservation,
  type ClusterObservation,
  type ContainerStatus,
  type MemberObservation,
  type ProbeHistory,
} from '../../common/monitor-observation';

const MEMBERS = [
  { name: 'coord-a', group: 'coordinator' },
  { name: 'coord-b', group: 'coordinator' },
  { name: 'g1-a', group: 'g1' },
  { name: 'g1-b', group: 'g1' },
];

const ctx = (over: Partial<DecisionContext> = {}): DecisionContext => ({
  policy: {
    failover: 'auto',
    allowAsyncFailover: false,
    requireFailoverApproval: false,
    durability: 'async',
    groups: { coordinator: ['coord-a', 'coord-b'], g1: ['g1-a', 'g1-b'] },
  },
  maintenance: { cluster: false, groups: [] },
  failoversInFlight: [],
  rejoinsInFlight: [],
  ownWorkflowIds: [],
  notBefore: {},
  thresholds: DEFAULT_THRESHOLDS,
  ...over,
});

/** Every member healthy (primaries coord-b, after a coordinator failover, and g1-a); the services as given. */
function round(
  at: number,
  services: { pgbouncer?: ContainerStatus; etcd?: ContainerStatus } | undefined,
  etcdAnswers = true,
): ClusterObservation {
  const members: Record<string, MemberObservation> = {};
  const primaries = { coordinator: 'coord-b', g1: 'g1-a' };
  for (const m of MEMBERS) {
    const primary = m.name === primaries[m.group as keyof typeof primaries];
    members[m.name] = {
      member: m.name,
      at,
      container: 'running',
      sql: primary
        ? { ok: true, ms: 2, inRecovery: false, timeline: 2, receiver: null, replication: [], syncNames: '' }
        : {
            ok: true,
            ms: 2,
            inRecovery: true,
            timeline: 2,
            receiver: { status: 'streaming', senderHost: primaries[m.group as keyof typeof primaries] },
            replication: [],
            syncNames: '',
          },
    };
  }
  const pgbouncerUp = (services?.pgbouncer ?? 'running') === 'running';
  return {
    at,
    etcd: etcdAnswers ? { ok: true } : { ok: false, error: 'etcd: no answer within 1500 ms' },
    pgbouncer: pgbouncerUp ? { ok: true } : { ok: false, error: 'connect ECONNREFUSED' },
    ...(services ? { services: { pgbouncer: services.pgbouncer ?? 'running', etcd: services.etcd ?? 'running' } } : {}),
    ...(etcdAnswers ? { primaries } : {}),
    locks: {},
    durability: {},
    members,
  };
}

/** A healthy round with etcd answering (the monitor learns the primaries), then `last`. */
function history(last: ClusterObservation): ProbeHistory {
  return foldObservation(foldObservation(emptyHistory(), round(0, {}), MEMBERS), last, MEMBERS);
}

const kinds = (h: ProbeHistory, c = ctx()) => decideCluster(h, c).actions.map((a) => actionKey(a));

describe('decideServices: Docker says a service is down', () => {
  test.each<[string, ContainerStatus, string[]]>([
    ['killed (exited): started', 'exited', ['start-service:pgbouncer']],
    ['created but never started: started', 'created', ['start-service:pgbouncer']],
    ['dead: started', 'dead', ['start-service:pgbouncer']],
    ['removed (absent): re-created', 'absent', ['recreate-service:pgbouncer']],
    ['running: nothing', 'running', []],
    ["restarting (Docker's policy is at it): nothing", 'restarting', []],
    ['paused (on purpose): nothing', 'paused', []],
    ['Docker did not answer (unknown): nothing', 'unknown', []],
  ])('PgBouncer %s', (_what, container, expected) => {
    expect(kinds(history(round(500, { pgbouncer: container })))).toEqual(expected);
  });

  test("PgBouncer is told the monitor's coordinator primary (after a failover, not the spec's first member)", () => {
    const d = decideCluster(history(round(500, { pgbouncer: 'absent' })), ctx());
    expect(d.actions).toEqual([
      {
        kind: 'recreate-service',
        group: 'pgbouncer',
        member: 'pgbouncer',
        coordinator: 'coord-b',
        reason: "pgbouncer's container is gone",
      },
    ]);
  });

  test('etcd killed: started, though etcd does not answer; every group action waits for it, services do not', () => {
    const h = history(round(500, { etcd: 'exited', pgbouncer: 'exited' }, false));
    const d = decideCluster(h, ctx());
    expect(d.actions.map((a) => actionKey(a))).toEqual(['start-service:pgbouncer', 'start-service:etcd']);
    expect(d.actions.find((a) => a.kind === 'start-service' && a.member === 'pgbouncer')).toMatchObject({
      coordinator: 'coord-b',
    });
    expect(d.groups.g1?.notes.join(' ')).toMatch(/etcd unreachable/);
  });

  test('etcd removed: re-created', () => {
    expect(kinds(history(round(500, { etcd: 'absent' }, false)))).toEqual(['recreate-service:etcd']);
  });

  test("service actions come before the groups' (every client goes through PgBouncer)", () => {
    const obs = round(500, { pgbouncer: 'exited' });
    obs.members['g1-b'] = {
      ...obs.members['g1-b']!,
      container: 'exited',
      sql: { ok: false, ms: 1, error: 'connect ECONNREFUSED' },
    };
    expect(kinds(history(obs))).toEqual(['start-service:pgbouncer', 'restart:g1-b']);
  });

  test('cluster maintenance: left alone, and said why; a group paused does not hold the services', () => {
    const h = history(round(500, { pgbouncer: 'exited', etcd: 'absent' }, false));
    const paused = decideCluster(h, ctx({ maintenance: { cluster: true, groups: [] } }));
    expect(paused.actions).toEqual([]);
    expect(paused.services?.notes.join(' ')).toMatch(
      /pgbouncer: container exited: maintenance.*etcd: container absent: maintenance/,
    );
    expect(kinds(h, ctx({ maintenance: { cluster: false, groups: ['coordinator', 'g1'] } }))).toEqual([
      'start-service:pgbouncer',
      'recreate-service:etcd',
    ]);
  });

  test('a backoff window holds the same action, not the other kind', () => {
    const h = history(round(500, { pgbouncer: 'exited' }));
    expect(kinds(h, ctx({ notBefore: { 'start-service:pgbouncer': 501 } }))).toEqual([]);
    expect(decideCluster(h, ctx({ notBefore: { 'start-service:pgbouncer': 501 } })).services?.notes.join(' ')).toMatch(
      /start-service pgbouncer not before/,
    );
    expect(kinds(h, ctx({ notBefore: { 'start-service:pgbouncer': 500 } }))).toEqual(['start-service:pgbouncer']);
    expect(kinds(h, ctx({ notBefore: { 'recreate-service:pgbouncer': 10_000 } }))).toEqual(['start-service:pgbouncer']);
  });

  test('an observation made before services were watched decides nothing about them', () => {
    const h = history(round(500, undefined));
    expect(decideCluster(h, ctx()).actions).toEqual([]);
    expect(decideServices(h.last, { maintenance: false, notBefore: {} })).toEqual({
      actions: [],
      words: {},
      notes: [],
    });
  });

  test('with no primary known yet, PgBouncer is still started (the activity then asks etcd)', () => {
    const only = foldObservation(emptyHistory(), round(0, { pgbouncer: 'exited' }, false), MEMBERS);
    expect(decideCluster(only, ctx()).actions).toEqual([
      { kind: 'start-service', group: 'pgbouncer', member: 'pgbouncer', reason: "pgbouncer's container is exited" },
    ]);
  });

  test("the signature changes with a service's container and when a running one stops or starts answering", () => {
    const sig = (pgbouncer: ContainerStatus, etcdAnswers = true) =>
      decisionSignature(
        decideCluster(
          history(round(500, { pgbouncer }, etcdAnswers)),
          ctx({ notBefore: { 'start-service:pgbouncer': 10_000 } }),
        ),
      );
    expect(sig('running')).not.toBe(sig('exited'));
    expect(sig('exited')).toBe(sig('exited'));
    expect(sig('running', false)).not.toBe(sig('running', true)); // etcd back: status follows at once
    expect(decideCluster(history(round(500, { etcd: 'running' }, false)), ctx()).services?.words).toEqual({
      pgbouncer: 'running',
      etcd: 'unreachable',
    });
    expect(decideCluster(history(round(500, { etcd: 'running', pgbouncer: 'exited' })), ctx()).services?.words).toEqual(
      { pgbouncer: 'exited', etcd: 'running' },
    );
  });
});
