/**
 * The monitor's pure decisions: when a primary has failed (N probes over T, confirmed from a
 * second viewpoint), what is done about each member under each policy and maintenance state, and
 * when a group's commit switches to asynchronous and back. Probe rounds are simulated on a clock
 * that starts at 0 and advances by the probe interval.
 */
import {
  DEFAULT_THRESHOLDS,
  HOST_LOSS_DETECTION,
  HOST_LOSS_WITHOUT_ETCD,
  TWO_PROBE_DOWN_DETECTION,
  decideCluster,
  decisionSignature,
  durabilityDecision,
  maybePromoted,
  parseSyncNames,
  primaryVerdict,
  type DecisionContext,
  type MonitorPolicy,
} from '../../common/monitor-decisions';
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
  { name: 'g1-a', group: 'g1' },
  { name: 'g1-b', group: 'g1' },
  { name: 'g1-c', group: 'g1' },
];
const PRIMARIES = { coordinator: 'coord-a', g1: 'g1-a' };
const T = DEFAULT_THRESHOLDS;

const POLICY: MonitorPolicy = {
  failover: 'auto',
  allowAsyncFailover: false,
  requireFailoverApproval: false,
  durability: 'synchronous',
  groups: { coordinator: ['coord-a'], g1: ['g1-a', 'g1-b', 'g1-c'] },
};
const ctx = (over: Partial<DecisionContext> = {}, policy: Partial<MonitorPolicy> = {}): DecisionContext => ({
  policy: { ...POLICY, ...policy },
  maintenance: { cluster: false, groups: [] },
  failoversInFlight: [],
  rejoinsInFlight: [],
  ownWorkflowIds: [],
  notBefore: {},
  thresholds: T,
  ...over,
});

type Shape = 'primary' | 'streaming' | 'lost-sender' | 'down' | 'slow' | 'writable';
/** A member as the probe would see it. */
function member(
  name: string,
  at: number,
  shape: Shape,
  container: ContainerStatus = 'running',
  extra: Partial<MemberObservation> = {},
): MemberObservation {
  const base = { member: name, at, container, ...extra };
  switch (shape) {
    case 'primary':
      return {
        ...base,
        sql: {
          ok: true,
          ms: 3,
          inRecovery: false,
          timeline: 1,
          receiver: null,
          replication: ['g1-b', 'g1-c'].map((s) => ({ name: s, state: 'streaming', syncState: 'quorum', lagBytes: 0 })),
          syncNames: 'ANY 1 ("g1-b", "g1-c")',
        },
      };
    case 'writable':
      return {
        ...base,
        sql: { ok: true, ms: 3, inRecovery: false, timeline: 2, receiver: null, replication: [], syncNames: '' },
      };
    case 'streaming':
      return {
        ...base,
        sql: {
          ok: true,
          ms: 3,
          inRecovery: true,
          timeline: 1,
          receiver: { status: 'streaming', senderHost: 'g1-a' },
          replication: [],
          syncNames: '',
        },
      };
    case 'lost-sender':
      return {
        ...base,
        sql: { ok: true, ms: 3, inRecovery: true, timeline: 1, receiver: null, replication: [], syncNames: '' },
      };
    case 'down':
      return { ...base, sql: { ok: false, ms: 1, error: 'connect ECONNREFUSED' } };
    case 'slow':
      return { ...base, sql: { ok: false, ms: 500, error: 'timeout expired' } };
  }
}

function round(
  at: number,
  shapes: Record<string, [Shape, ContainerStatus?]>,
  over: Partial<ClusterObservation> = {},
): ClusterObservation {
  const members = Object.fromEntries(
    MEMBERS.map((m) => {
      const [shape, container] = shapes[m.name] ?? [
        m.name === 'coord-a' || m.name === 'g1-a' ? 'primary' : 'streaming',
      ];
      return [m.name, member(m.name, at, m.name === 'coord-a' && shape === 'primary' ? 'writable' : shape, container)];
    }),
  );
  return {
    at,
    etcd: { ok: true },
    pgbouncer: { ok: true },
    primaries: PRIMARIES,
    locks: {},
    durability: {},
    members,
    ...over,
  };
}

/** A healthy round at 0, then `rounds` rounds of `shapes` every 500 ms. */
function history(
  rounds: number,
  shapes: Record<string, [Shape, ContainerStatus?]>,
  over: Partial<ClusterObservation> = {},
): ProbeHistory {
  let h = foldObservation(emptyHistory(), round(0, {}), MEMBERS);
  for (let i = 1; i <= rounds; i++) h = foldObservation(h, round(i * T.intervalMs, shapes, over), MEMBERS);
  return h;
}

const verdictOf = (h: ProbeHistory) =>
  primaryVerdict(
    h.members['g1-a'],
    h.groups.g1,
    { 'g1-b': h.members['g1-b']?.last, 'g1-c': h.members['g1-c']?.last },
    T,
  ).state;

describe('primaryVerdict: N failed probes over T, confirmed from a second viewpoint', () => {
  test.each<[string, number, Record<string, [Shape, ContainerStatus?]>, string]>([
    ['healthy', 3, {}, 'ok'],
    ['killed: 1 failed probe, Docker says exited', 1, { 'g1-a': ['down', 'exited'] }, 'failed'],
    ['killed: 2 failed probes span 500 ms, Docker says exited', 2, { 'g1-a': ['down', 'exited'] }, 'failed'],
    ['crashed in a running container: 1 failed probe', 1, { 'g1-a': ['down'] }, 'suspect'],
    ['killed: 4 failed probes span 1500 ms, Docker says exited', 4, { 'g1-a': ['down', 'exited'] }, 'failed'],
    [
      'crashed in a running container: 2 failed probes, standbys lost their sender',
      2,
      { 'g1-a': ['down'], 'g1-b': ['lost-sender'], 'g1-c': ['lost-sender'] },
      'suspect',
    ],
    [
      'Docker does not answer (unknown): 3 failed probes span 1000 ms < T',
      3,
      { 'g1-a': ['down', 'unknown'] },
      'suspect',
    ],
    ['container gone (absent)', 4, { 'g1-a': ['down', 'absent'] }, 'failed'],
    [
      'crashed inside a running container, every standby lost its sender',
      4,
      { 'g1-a': ['down'], 'g1-b': ['lost-sender'], 'g1-c': ['lost-sender'] },
      'failed',
    ],
    ['only one of two standbys lost its sender', 4, { 'g1-a': ['down'], 'g1-b': ['lost-sender'] }, 'suspect'],
    ['slow probe (timeouts) while standbys stream', 10, { 'g1-a': ['slow'] }, 'suspect'],
    [
      'orchestrator cut off: nothing answers, Docker says running',
      10,
      { 'g1-a': ['slow'], 'g1-b': ['slow'], 'g1-c': ['slow'] },
      'suspect',
    ],
    ['paused container (docker pause), standbys still connected', 10, { 'g1-a': ['slow', 'paused'] }, 'suspect'],
    [
      'paused and the standbys cannot be reached',
      10,
      { 'g1-a': ['slow', 'paused'], 'g1-b': ['slow'], 'g1-c': ['slow'] },
      'suspect',
    ],
  ])('%s', (_what, rounds, shapes, expected) => {
    expect(verdictOf(history(rounds, shapes))).toBe(expected);
  });

  test('a 1 s pause never fails over with the defaults: the failures end before T', () => {
    // paused from 250 ms to 1250 ms: probes at 500 and 1000 time out, 1500 answers.
    let h = foldObservation(emptyHistory(), round(0, {}), MEMBERS);
    const states: string[] = [];
    for (const [at, shape] of [
      [500, 'slow'],
      [1000, 'slow'],
      [1500, 'primary'],
      [2000, 'primary'],
    ] as const) {
      h = foldObservation(h, round(at, { 'g1-a': [shape, shape === 'slow' ? 'paused' : 'running'] }), MEMBERS);
      states.push(verdictOf(h));
      expect(decideCluster(h, ctx()).actions.filter((a) => a.kind === 'failover')).toEqual([]);
    }
    expect(states).toEqual(['suspect', 'suspect', 'ok', 'ok']);
  });

  test('one success resets the run of failures', () => {
    // Crashed inside a running container, every standby lost its sender: 3 failures over 1500 ms needed.
    const crashed: Record<string, [Shape]> = { 'g1-a': ['down'], 'g1-b': ['lost-sender'], 'g1-c': ['lost-sender'] };
    let h = history(3, crashed);
    h = foldObservation(h, round(2000, {}), MEMBERS);
    h = foldObservation(h, round(2500, crashed), MEMBERS);
    expect(h.members['g1-a']).toMatchObject({ failures: 1, failingSince: 2500 });
    expect(verdictOf(h)).toBe('suspect');
    h = foldObservation(h, round(2600, {}), MEMBERS); // answers again before a second failure
    h = foldObservation(h, round(4100, crashed), MEMBERS);
    expect(verdictOf(h)).toBe('suspect');
  });

  test('a monitor recorded before first-probe detection still needs two probes over 500 ms', () => {
    const legacy = { ...DEFAULT_THRESHOLDS, ...TWO_PROBE_DOWN_DETECTION };
    const verdict = (h: ProbeHistory) => primaryVerdict(h.members['g1-a'], h.groups.g1, {}, legacy).state;
    expect(verdict(history(1, { 'g1-a': ['down', 'exited'] }))).toBe('suspect');
    expect(verdict(history(2, { 'g1-a': ['down', 'exited'] }))).toBe('failed');
  });
});

describe('decideCluster: what is done per policy and maintenance state', () => {
  const killed = history(4, { 'g1-a': ['down', 'exited'], 'g1-b': ['lost-sender'], 'g1-c': ['lost-sender'] });
  const kinds = (d: ReturnType<typeof decideCluster>) =>
    d.actions.map((a) => `${a.kind}:${'member' in a ? a.member : a.group}`);

  test.each<[string, DecisionContext, string[], RegExp | null]>([
    ['auto: start the failover, onto the standbys that were synchronous', ctx(), ['failover:g1'], null],
    ['approve: a failover that waits for approval', ctx({}, { failover: 'approve' }), ['failover:g1'], null],
    ['manual: only a note', ctx({}, { failover: 'manual' }), [], /policy manual: run `citusctl failover g1`/],
    ['cluster in maintenance: nothing', ctx({ maintenance: { cluster: true, groups: [] } }), [], /maintenance/],
    ['group in maintenance: nothing', ctx({ maintenance: { cluster: false, groups: ['g1'] } }), [], /maintenance/],
    [
      'another group in maintenance: failover',
      ctx({ maintenance: { cluster: false, groups: ['coordinator'] } }),
      ['failover:g1'],
      null,
    ],
    ['failover already in flight: nothing more', ctx({ failoversInFlight: ['g1'] }), [], /in progress/],
    [
      'backing off after a failover that changed nothing',
      ctx({ notBefore: { 'failover:g1': 10_000 } }),
      [],
      /not before/,
    ],
    [
      'our rejoin of a standby is cancelled first',
      ctx({ rejoinsInFlight: ['g1-c'], ownWorkflowIds: ['rejoin-c-g1-c'] }),
      ['cancel-rejoin:g1-c', 'failover:g1'],
      null,
    ],
  ])('%s', (_what, c, expected, note) => {
    const d = decideCluster(killed, c);
    expect(kinds(d)).toEqual(expected);
    if (note) expect(d.groups.g1!.notes.join('\n')).toMatch(note);
  });

  test('the failover input: approval per policy, candidates = the standbys synchronous at the fault', () => {
    expect(decideCluster(killed, ctx()).actions[0]).toMatchObject({
      kind: 'failover',
      oldPrimary: 'g1-a',
      requireApproval: false,
      candidates: ['g1-b', 'g1-c'],
    });
    expect(decideCluster(killed, ctx({}, { failover: 'approve' })).actions[0]).toMatchObject({ requireApproval: true });
    expect(decideCluster(killed, ctx({}, { requireFailoverApproval: true })).actions[0]).toMatchObject({
      requireApproval: true,
    });
    expect(decideCluster(killed, ctx({}, { allowAsyncFailover: true })).actions[0]).not.toHaveProperty('candidates');
  });

  test('a primary without a synchronous standby is not failed over automatically, unless the policy allows it', () => {
    // g1-b and g1-c stopped streaming (the group went async), then the primary died.
    let h = foldObservation(emptyHistory(), round(0, {}), MEMBERS);
    const primaryAlone = member('g1-a', 500, 'writable');
    h = foldObservation(
      h,
      {
        ...round(500, { 'g1-b': ['down', 'exited'], 'g1-c': ['down', 'exited'] }),
        members: { ...round(500, {}).members, 'g1-a': primaryAlone },
      },
      MEMBERS,
    );
    for (let at = 1000; at <= 3000; at += 500)
      h = foldObservation(
        h,
        round(at, { 'g1-a': ['down', 'exited'], 'g1-b': ['down', 'exited'], 'g1-c': ['down', 'exited'] }),
        MEMBERS,
      );
    const refused = decideCluster(h, ctx());
    expect(refused.actions.filter((a) => a.kind === 'failover')).toEqual([]);
    expect(refused.groups.g1!.notes.join('\n')).toMatch(/refused: no standby was synchronous/);
    expect(decideCluster(h, ctx({}, { allowAsyncFailover: true })).actions.map((a) => a.kind)).toContain('failover');
  });

  test('etcd unreachable: no failover (the failover needs its lock), but durability is still kept', () => {
    const h = history(
      4,
      { 'g1-a': ['down', 'exited'], 'g1-b': ['lost-sender'], 'g1-c': ['lost-sender'] },
      { etcd: { ok: false, error: 'deadline' }, primaries: undefined },
    );
    const d = decideCluster(h, ctx());
    expect(d.actions).toEqual([]);
    expect(d.groups.g1!.notes.join('\n')).toMatch(/etcd unreachable/);
  });

  describe('several hosts: a lost host in a round etcd did not answer (its leader may have been there)', () => {
    const LOST = { ...T, ...HOST_LOSS_DETECTION, ...HOST_LOSS_WITHOUT_ETCD };
    const noEtcd = { etcd: { ok: false, error: 'deadline' }, primaries: undefined, locks: {}, durability: {} };
    /** A healthy round at 0, then one at `at` without etcd in which g1-a's host is lost (or only `g1a` says). */
    const lostAt = (at: number, g1a: Partial<MemberObservation> = {}) => {
      const r = round(at, {}, noEtcd);
      r.members['g1-a'] = {
        ...member('g1-a', at, 'slow', 'unknown'),
        peers: { reached: [], cut: ['g1-b', 'g1-c'], unasked: [] },
        peersAt: at + 900,
        ...g1a,
      };
      return foldObservation(foldObservation(emptyHistory(), round(0, {}), MEMBERS), r, MEMBERS);
    };
    test('etcd answered 500 ms before: the failover starts, saying etcd did not answer', () => {
      const d = decideCluster(lostAt(500), ctx({ thresholds: LOST }));
      expect(kinds(d)).toEqual(['failover:g1']);
      expect(d.actions[0]).toMatchObject({
        reason: expect.stringMatching(/host lost: .*; etcd did not answer this round \(deadline\), 500 ms after/),
      });
    });
    test.each<[string, number, Partial<MemberObservation>, Partial<typeof LOST>]>([
      ['monitors started before (no threshold)', 500, {}, { hostLossWithoutEtcdMs: undefined }],
      ['etcd last answered 6 s before', 6000, {}, {}],
      ['the container is down on a host that answers (not a lost host)', 500, { container: 'exited' }, {}],
      ['a peer still reaches it', 500, { peers: { reached: ['g1-b'], cut: ['g1-c'], unasked: [] } }, {}],
    ])('held for etcd: %s', (_, at, g1a, over) => {
      const d = decideCluster(lostAt(at, g1a), ctx({ thresholds: { ...LOST, ...over } }));
      expect(d.actions).toEqual([]);
      expect(d.groups.g1!.notes.join('\n')).toMatch(/etcd unreachable/);
    });
  });

  test('a group locked by another workflow (a switchover) is left alone', () => {
    const h = history(4, { 'g1-a': ['down', 'exited'] }, { locks: { g1: 'switchover-c-g1/run1' } });
    expect(decideCluster(h, ctx()).actions).toEqual([]);
    const ours = history(4, { 'g1-a': ['down', 'exited'] }, { locks: { g1: 'rejoin-c-g1-c/run1' } });
    expect(kinds(decideCluster(ours, ctx({ rejoinsInFlight: ['g1-c'], ownWorkflowIds: ['rejoin-c-g1-c'] })))).toContain(
      'failover:g1',
    );
  });

  test.each<[string, Record<string, [Shape, ContainerStatus?]>, Partial<MemberObservation>, number, string[]]>([
    ['dead standby: docker start', { 'g1-b': ['down', 'exited'] }, {}, 1, ['restart:g1-b']],
    [
      'fenced standby (left by a failover): rejoin',
      { 'g1-b': ['down', 'exited'] },
      { state: 'fenced' },
      1,
      ['rejoin:g1-b'],
    ],
    [
      'fenced and waiting in a running container: rejoin',
      { 'g1-b': ['down'] },
      { state: 'fenced' },
      1,
      ['rejoin:g1-b'],
    ],
    ['a second writable member: rejoin at once', { 'g1-b': ['writable'] }, {}, 1, ['rejoin:g1-b']],
    ['running, not streaming for less than the grace: wait', { 'g1-b': ['lost-sender'] }, {}, 5, []],
    ['running, not streaming for the grace: rejoin', { 'g1-b': ['lost-sender'] }, {}, 21, ['rejoin:g1-b']],
    [
      'removed container (docker rm): re-created on its volume',
      { 'g1-b': ['down', 'absent'] },
      {},
      1,
      ['recreate:g1-b'],
    ],
    ['paused standby: wait', { 'g1-b': ['slow', 'paused'] }, {}, 30, []],
  ])('%s', (_what, shapes, extra, rounds, expected) => {
    let h = foldObservation(emptyHistory(), round(0, {}), MEMBERS);
    for (let i = 1; i <= rounds; i++) {
      const r = round(i * 500, shapes);
      r.members['g1-b'] = { ...r.members['g1-b']!, ...extra };
      h = foldObservation(h, r, MEMBERS);
    }
    expect(kinds(decideCluster(h, ctx())).filter((k) => !k.startsWith('durability'))).toEqual(expected);
    expect(
      kinds(decideCluster(h, ctx({ maintenance: { cluster: true, groups: [] } }))).filter(
        (k) => !k.startsWith('durability'),
      ),
    ).toEqual([]);
  });

  describe('a primary fenced by a failover that did not finish (its promotion never answered)', () => {
    /** g1-a fenced and down; g1-b as given; g1-c lost its sender. */
    const after = (g1b: [Shape, ContainerStatus]) => {
      let h = foldObservation(emptyHistory(), round(0, {}), MEMBERS);
      for (let i = 1; i <= 4; i++) {
        const r = round(i * 500, { 'g1-a': ['down', 'exited'], 'g1-b': g1b, 'g1-c': ['lost-sender'] });
        r.members['g1-a'] = { ...r.members['g1-a']!, state: 'fenced' };
        h = foldObservation(h, r, MEMBERS);
      }
      return h;
    };

    test.each<[string, [Shape, ContainerStatus]]>([
      ['paused', ['slow', 'paused']],
      ['running but not answering (cut off)', ['down', 'running']],
      ['Docker does not say', ['slow', 'unknown']],
    ])(
      'a member that cannot be reached (%s) may have been promoted: no failover, a note for the operator',
      (_what, g1b) => {
        const d = decideCluster(after(g1b), ctx());
        expect(d.actions.filter((a) => a.kind === 'failover')).toEqual([]);
        const notes = d.groups.g1!.notes.join('\n');
        expect(notes).toMatch(
          /needs operator: g1-a is fenced by a failover that did not finish and g1-b cannot be reached/,
        );
        expect(notes).toMatch(/g1-b cannot be reached .*`citusctl failover g1`.*`citusctl unfence g1-a`/);
      },
    );

    test.each<[string, [Shape, ContainerStatus]]>([
      ['answers as writable (the promotion went through): the failover finishes onto it', ['writable', 'running']],
      ['answers in recovery', ['lost-sender', 'running']],
      ['its container is down (it starts as its member state says)', ['down', 'exited']],
    ])('once it %s, the failover is started again', (_what, g1b) => {
      expect(kinds(decideCluster(after(g1b), ctx()))).toContain('failover:g1');
    });

    test('a primary that is not fenced (a plain crash) is failed over even with a standby unreachable', () => {
      expect(maybePromoted({ ...member('g1-a', 0, 'down', 'exited') }, [member('g1-b', 0, 'slow', 'paused')])).toEqual(
        [],
      );
      expect(
        maybePromoted({ ...member('g1-a', 0, 'down', 'exited'), state: 'fenced' }, [
          member('g1-b', 0, 'slow', 'paused'),
          member('g1-c', 0, 'streaming'),
          undefined,
        ]),
      ).toEqual(['g1-b']);
    });
  });

  test('a restarted standby gets its grace period from the restart on', () => {
    let h = foldObservation(emptyHistory(), round(0, {}), MEMBERS);
    for (let i = 1; i <= 30; i++) h = foldObservation(h, round(i * 500, { 'g1-b': ['down', 'exited'] }), MEMBERS);
    h = foldObservation(h, round(15_500, { 'g1-b': ['down'] }), MEMBERS); // docker start: running, not answering yet
    expect(kinds(decideCluster(h, ctx()))).not.toContain('rejoin:g1-b');
    expect(h.members['g1-b']!.notStreamingSince).toBe(15_500);
  });

  test('the signature changes with health words and actions, not with timings', () => {
    const a = history(2, { 'g1-b': ['lost-sender'] });
    const b = history(3, { 'g1-b': ['lost-sender'] });
    expect(decisionSignature(decideCluster(a, ctx()))).toBe(decisionSignature(decideCluster(b, ctx())));
    expect(decisionSignature(decideCluster(history(2, {}), ctx()))).not.toBe(
      decisionSignature(decideCluster(a, ctx())),
    );
  });
});

describe('synchronous commit that never blocks forever', () => {
  test.each<[string, string | undefined, string]>([
    ['empty', '', ''],
    ['ANY with quotes', 'ANY 1 ("g1-b", "g1-c")', 'g1-b,g1-c'],
    ['FIRST', 'FIRST 2 (a,b)', 'a,b'],
    ['plain list', 'a, b', 'a,b'],
    ['star', '*', '*'],
    ['undefined', undefined, ''],
  ])('parseSyncNames: %s', (_w, value, names) => {
    expect(parseSyncNames(value).join(',')).toBe(names);
  });

  const g = (streaming: string[], syncNames: string, noStreamingSince?: number) => ({
    primary: 'g1-a',
    seenAt: 5000,
    streaming,
    synchronous: streaming,
    syncNames,
    noStreamingSince,
  });
  test.each<[string, ReturnType<typeof g> | undefined, 'synchronous' | 'async', string]>([
    ['healthy synchronous group', g(['g1-b'], 'ANY 1 ("g1-b")'), 'synchronous', 'keep'],
    ['last standby gone for less than asyncAfterMs', g([], 'ANY 1 ("g1-b")', 4000), 'synchronous', 'keep'],
    ['last standby gone for asyncAfterMs: async', g([], 'ANY 1 ("g1-b")', 3500), 'synchronous', 'async'],
    ['async and a standby streams again: synchronous', g(['g1-b'], ''), 'synchronous', 'synchronous'],
    [
      'only a non-streaming standby named, another streams: name it',
      g(['g1-c'], 'ANY 1 ("g1-b")'),
      'synchronous',
      'synchronous',
    ],
    ['already async, nobody streams', g([], '', 0), 'synchronous', 'keep'],
    ['spec says async, config names a standby', g(['g1-b'], 'ANY 1 ("g1-b")'), 'async', 'async'],
    ['spec says async', g(['g1-b'], ''), 'async', 'keep'],
    ['primary never seen', undefined, 'synchronous', 'keep'],
  ])('%s', (_what, track, durability, expected) => {
    const d = durabilityDecision(track, durability, 5000, T);
    expect(d.change ? d.mode : 'keep').toBe(expected);
  });

  test('through the fold: standbys die, the group goes async after asyncAfterMs, and back when one streams', () => {
    let h = foldObservation(emptyHistory(), round(0, {}), MEMBERS);
    const alone = (at: number, syncNames: string) => {
      const r = round(at, { 'g1-b': ['down', 'exited'], 'g1-c': ['down', 'exited'] });
      r.members['g1-a'] = {
        ...member('g1-a', at, 'writable'),
        sql: { ...(member('g1-a', at, 'writable').sql as object), syncNames } as never,
      };
      return r;
    };
    const durability = (hh: ProbeHistory, c = ctx({ notBefore: { 'restart:g1-b': 1e9, 'restart:g1-c': 1e9 } })) =>
      decideCluster(hh, c).actions.filter((a) => a.kind === 'durability');
    h = foldObservation(h, alone(500, 'ANY 1 ("g1-b", "g1-c")'), MEMBERS);
    h = foldObservation(h, alone(1000, 'ANY 1 ("g1-b", "g1-c")'), MEMBERS);
    expect(durability(h)).toEqual([]);
    h = foldObservation(h, alone(2000, 'ANY 1 ("g1-b", "g1-c")'), MEMBERS);
    expect(durability(h)).toMatchObject([{ group: 'g1', primary: 'g1-a', mode: 'async' }]);
    // Kept in maintenance too: it changes no role.
    expect(durability(h, ctx({ maintenance: { cluster: true, groups: [] } }))).toHaveLength(1);
    h = foldObservation(h, alone(2500, ''), MEMBERS);
    expect(durability(h)).toEqual([]);
    h = foldObservation(
      h,
      {
        ...round(3000, {}),
        members: {
          ...round(3000, {}).members,
          'g1-a': {
            ...member('g1-a', 3000, 'primary'),
            sql: { ...(member('g1-a', 3000, 'primary').sql as object), syncNames: '' } as never,
          },
        },
      },
      MEMBERS,
    );
    expect(durability(h)).toMatchObject([{ group: 'g1', mode: 'synchronous' }]);
  });
});
