/**
 * A primary cut off from the network while its container runs: whom the monitor asks, when the
 * peers' answers confirm it, and that a freeze of about a second, a slow probe or a monitor cut
 * off on its own never do. Rounds are simulated the way the probe activity runs them: each round
 * asks the peers that peersToAsk names from the history so far, on a clock that starts at 0 and
 * advances by the probe interval.
 */
import {
  DEFAULT_THRESHOLDS,
  decideCluster,
  primaryVerdict,
  type DecisionContext,
  type MonitorThresholds,
} from '../../common/monitor-decisions';
import {
  emptyHistory,
  foldObservation,
  type ClusterObservation,
  type ContainerStatus,
  type MemberObservation,
  type ProbeHistory,
} from '../../common/monitor-observation';
import { partitionConfirmation, peersToAsk } from '../../common/partition-decisions';
import { describePeerView, foldPeerCut, peerVerdict, type PeerView } from '../../common/peer-view';

const MEMBERS = [
  { name: 'coord-a', group: 'coordinator' },
  { name: 'coord-b', group: 'coordinator' },
  { name: 'g1-a', group: 'g1' },
  { name: 'g1-b', group: 'g1' },
  { name: 'g2-a', group: 'g2' },
  { name: 'g2-b', group: 'g2' },
];
const PRIMARIES = { coordinator: 'coord-a', g1: 'g1-a', g2: 'g2-a' };
const T = DEFAULT_THRESHOLDS;
const ctx = (thresholds: MonitorThresholds = T): DecisionContext => ({
  policy: {
    failover: 'auto',
    allowAsyncFailover: false,
    requireFailoverApproval: false,
    durability: 'synchronous',
    groups: { coordinator: ['coord-a', 'coord-b'], g1: ['g1-a', 'g1-b'], g2: ['g2-a', 'g2-b'] },
  },
  maintenance: { cluster: false, groups: [] },
  failoversInFlight: [],
  rejoinsInFlight: [],
  ownWorkflowIds: [],
  notBefore: {},
  thresholds,
});

const PRIMARY_OF: Record<string, string> = { 'coord-b': 'coord-a', 'g1-b': 'g1-a', 'g2-b': 'g2-a' };
const ok = (name: string, at: number): MemberObservation => {
  const primary = !PRIMARY_OF[name];
  const standby = Object.entries(PRIMARY_OF).find(([, p]) => p === name)?.[0];
  return {
    member: name,
    at,
    container: 'running',
    sql: primary
      ? {
          ok: true,
          ms: 3,
          inRecovery: false,
          timeline: 1,
          receiver: null,
          replication: standby ? [{ name: standby, state: 'streaming', syncState: 'quorum', lagBytes: 0 }] : [],
          syncNames: standby ? `ANY 1 ("${standby}")` : '',
        }
      : {
          ok: true,
          ms: 3,
          inRecovery: true,
          timeline: 1,
          receiver: { status: 'streaming', senderHost: PRIMARY_OF[name]! },
          replication: [],
          syncNames: '',
        },
  };
};

/** How g1-a looks in one round: to the monitor, to Docker, and to each peer that is asked. */
interface G1a {
  sql: 'ok' | 'refused' | 'timeout';
  container?: ContainerStatus;
  /** What a peer asked about g1-a answers: it connects, it cannot, or the monitor cannot ask it. */
  peer?: (peer: string) => 'reached' | 'cut' | 'unasked';
}

/** One round at `at`, asking exactly the peers peersToAsk names from the history so far (as the probe does). */
function round(h: ProbeHistory, at: number, g1a: G1a): ClusterObservation {
  const members: Record<string, MemberObservation> = Object.fromEntries(MEMBERS.map((m) => [m.name, ok(m.name, at)]));
  const container = g1a.container ?? 'running';
  members['g1-a'] =
    g1a.sql === 'ok'
      ? { ...ok('g1-a', at), container }
      : {
          member: 'g1-a',
          at,
          container,
          sql: {
            ok: false,
            ms: g1a.sql === 'refused' ? 1 : 500,
            error: g1a.sql === 'refused' ? 'connect ECONNREFUSED' : 'timeout expired',
          },
        };
  const asked = peersToAsk(h, MEMBERS)['g1-a'];
  if (asked) {
    const view: PeerView = { reached: [], cut: [], unasked: [] };
    for (const p of asked) {
      const answer = g1a.peer?.(p) ?? 'cut';
      if (answer === 'unasked') view.unasked.push(`${p}: no answer`);
      else view[answer].push(p);
    }
    for (const list of [view.reached, view.cut, view.unasked]) list.sort(); // as the probe reports them
    members['g1-a'] = { ...members['g1-a'], peers: view };
  }
  return { at, etcd: { ok: true }, pgbouncer: { ok: true }, primaries: PRIMARIES, locks: {}, durability: {}, members };
}

interface Step {
  at: number;
  state: string;
  failover: boolean;
  asked: string[];
}

/**
 * A healthy round at 0, then one round every 500 ms with g1-a as `shape(at)` says; each round's verdict and decision.
 */
function simulate(rounds: number, shape: (at: number) => G1a, thresholds: MonitorThresholds = T): Step[] {
  let h = foldObservation(emptyHistory(), round(emptyHistory(), 0, { sql: 'ok' }), MEMBERS);
  const steps: Step[] = [];
  for (let i = 1; i <= rounds; i++) {
    const at = i * thresholds.intervalMs;
    const asked = peersToAsk(h, MEMBERS)['g1-a'] ?? [];
    h = foldObservation(h, round(h, at, shape(at)), MEMBERS);
    const verdict = primaryVerdict(h.members['g1-a'], h.groups.g1, { 'g1-b': h.members['g1-b']?.last }, thresholds);
    const failover = decideCluster(h, ctx(thresholds)).actions.some((a) => a.kind === 'failover' && a.group === 'g1');
    steps.push({ at, state: verdict.state, failover, asked });
  }
  return steps;
}
const firstFailover = (steps: Step[]) => steps.find((s) => s.failover)?.at;

describe('peersToAsk: only for a primary that failed the last probe while its container runs', () => {
  const failing = (container: ContainerStatus, group: 'g1' | 'coordinator' = 'g1') => {
    const primary = group === 'g1' ? 'g1-a' : 'coord-a';
    const obs = round(emptyHistory(), 500, { sql: 'ok' });
    obs.members[primary] = {
      member: primary,
      at: 500,
      container,
      sql: { ok: false, ms: 1, error: 'connect ECONNREFUSED' },
    };
    return foldObservation(
      foldObservation(emptyHistory(), round(emptyHistory(), 0, { sql: 'ok' }), MEMBERS),
      obs,
      MEMBERS,
    );
  };

  test('a healthy cluster asks nobody', () => {
    expect(
      peersToAsk(foldObservation(emptyHistory(), round(emptyHistory(), 0, { sql: 'ok' }), MEMBERS), MEMBERS),
    ).toEqual({});
  });
  test('a worker primary: its standby and the coordinator primary', () => {
    expect(peersToAsk(failing('running'), MEMBERS)).toEqual({ 'g1-a': ['g1-b', 'coord-a'] });
  });
  test('the coordinator primary: its standby and every worker primary', () => {
    expect(peersToAsk(failing('running', 'coordinator'), MEMBERS)).toEqual({ 'coord-a': ['coord-b', 'g1-a', 'g2-a'] });
  });
  test.each<ContainerStatus>(['paused', 'exited', 'absent', 'unknown', 'restarting'])(
    'container %s: nobody is asked',
    (container) => {
      expect(peersToAsk(failing(container), MEMBERS)).toEqual({});
    },
  );
  test("several hosts: also while its host's engine does not answer (host lost?), never when paused or down", () => {
    expect(peersToAsk(failing('unknown'), MEMBERS, { engineSilent: true })).toEqual({ 'g1-a': ['g1-b', 'coord-a'] });
    expect(peersToAsk(failing('running'), MEMBERS, { engineSilent: true })).toEqual({ 'g1-a': ['g1-b', 'coord-a'] });
    for (const container of ['paused', 'exited', 'absent', 'restarting'] as const)
      expect(peersToAsk(failing(container), MEMBERS, { engineSilent: true })).toEqual({});
  });
  test("the primary etcd names now, not the spec's first member", () => {
    const h = failing('running');
    const moved: ProbeHistory = {
      ...h,
      primaries: { ...h.primaries, g1: 'g1-b' },
      members: {
        ...h.members,
        'g1-b': { ...h.members['g1-a']!, last: { ...h.members['g1-a']!.last!, member: 'g1-b' } },
      },
    };
    expect(peersToAsk(moved, MEMBERS)).toEqual({ 'g1-b': ['g1-a', 'coord-a'] });
  });
});

describe('peer views fold into a run of cut rounds', () => {
  const cut: PeerView = { reached: [], cut: ['coord-a'], unasked: [] };
  test.each<[string, PeerView | undefined, ReturnType<typeof peerVerdict>]>([
    ['not asked', undefined, 'unknown'],
    ['nobody could be asked', { reached: [], cut: [], unasked: ['coord-a: timeout'] }, 'unknown'],
    ['every peer that answered is cut off', { reached: [], cut: ['coord-a'], unasked: ['g1-b: timeout'] }, 'cut'],
    ['one peer reaches it', { reached: ['g1-b'], cut: ['coord-a'], unasked: [] }, 'reached'],
  ])('%s', (_what, view, expected) => {
    expect(peerVerdict(view)).toBe(expected);
  });
  test('a cut round extends the run, any other ends it', () => {
    const one = foldPeerCut(undefined, cut, 1000);
    expect(one).toEqual({ rounds: 1, since: 1000 });
    expect(foldPeerCut(one, cut, 1500)).toEqual({ rounds: 2, since: 1000 });
    expect(foldPeerCut(one, { reached: ['g1-b'], cut: [], unasked: [] }, 1500)).toBeUndefined();
    expect(foldPeerCut(one, undefined, 1500)).toBeUndefined();
  });
  test('the reason names who could not connect', () => {
    expect(describePeerView({ reached: [], cut: ['coord-a', 'g1-b'], unasked: [] })).toBe(
      'coord-a, g1-b cannot connect',
    );
    expect(describePeerView({ reached: ['g1-b'], cut: ['coord-a'], unasked: ['x: y'] })).toBe(
      'g1-b reaches it, coord-a cannot connect, not asked: x: y',
    );
  });
});

describe('a partitioned primary (container running, nobody reaches it) is failed over', () => {
  test('cut off from 250 ms: peers asked from the second failed round, failover due when both windows are met', () => {
    const steps = simulate(10, (at) => (at >= 250 ? { sql: 'refused' } : { sql: 'ok' }));
    expect(steps[0]!.asked).toEqual([]); // the first failed round only learns of it
    expect(steps[1]!.asked).toEqual(['g1-b', 'coord-a']);
    // Failed probes at 500..2000 span 1500 ms (failWindowMs); peers cut at 1000..2000: 3 checks over 1000 ms.
    expect(firstFailover(steps)).toBe(2000);
    expect(steps.filter((s) => s.at < 2000).map((s) => s.state)).toEqual(['suspect', 'suspect', 'suspect']);
  });

  test('packets dropped (probe timeouts), peers cannot connect either: failed over the same way', () => {
    expect(firstFailover(simulate(10, (at) => (at >= 250 ? { sql: 'timeout' } : { sql: 'ok' })))).toBe(2000);
  });

  test('a peer the monitor cannot ask does not hold it back while another peer confirms', () => {
    const steps = simulate(10, (at) =>
      at >= 250 ? { sql: 'refused', peer: (p) => (p === 'g1-b' ? 'unasked' : 'cut') } : { sql: 'ok' },
    );
    expect(firstFailover(steps)).toBe(2000);
  });

  test('the reason says so', () => {
    let h = foldObservation(emptyHistory(), round(emptyHistory(), 0, { sql: 'ok' }), MEMBERS);
    for (let at = 500; at <= 2000; at += 500) h = foldObservation(h, round(h, at, { sql: 'refused' }), MEMBERS);
    const v = primaryVerdict(h.members['g1-a'], h.groups.g1, { 'g1-b': h.members['g1-b']?.last }, T);
    expect(v).toEqual({
      state: 'failed',
      reason: expect.stringMatching(
        /container running but no peer reaches it \(coord-a, g1-b cannot connect; 3 checks over 1000 ms\)/,
      ) as unknown as string,
    });
    expect(partitionConfirmation(h.members['g1-a'], T)).toMatch(/no peer reaches it/);
  });

  test('stricter thresholds wait longer', () => {
    const steps = simulate(12, (at) => (at >= 250 ? { sql: 'refused' } : { sql: 'ok' }), {
      ...T,
      peerChecks: 5,
      peerWindowMs: 2000,
    });
    expect(firstFailover(steps)).toBe(3000);
  });
});

describe('never on a freeze of about a second, a slow probe or a monitor cut off on its own', () => {
  const frozen =
    (from: number, to: number) =>
    (at: number): G1a =>
      at >= from && at < to ? { sql: 'timeout' } : { sql: 'ok' };

  test.each([
    ['a 1 s freeze of a running container (SIGSTOP, I/O stall): peers cannot connect either', frozen(250, 1250)],
    ['the longest freeze whose failed rounds span less than failWindowMs', frozen(250, 1700)],
    [
      'three 1 s freezes in a row, 1 s apart',
      (at: number): G1a => ({ sql: [500, 1000, 2500, 3000, 4500, 5000].includes(at) ? 'timeout' : 'ok' }),
    ],
  ])('%s', (_what, shape) => {
    const steps = simulate(14, shape);
    expect(steps.some((s) => s.failover)).toBe(false);
    expect(steps.some((s) => s.state === 'failed')).toBe(false);
  });

  test('docker pause: Docker says paused, the peers are not asked, nothing is done however long it lasts', () => {
    const steps = simulate(20, () => ({ sql: 'timeout', container: 'paused' }));
    expect(steps.every((s) => s.asked.length === 0 && !s.failover)).toBe(true);
  });

  test('a slow probe: the monitor times out, the peers reach it', () => {
    const steps = simulate(20, () => ({ sql: 'timeout', peer: () => 'reached' }));
    expect(steps.some((s) => s.failover)).toBe(false);
    expect(steps.at(-1)!.asked).toEqual(['g1-b', 'coord-a']);
  });

  test('the monitor cut off from the primary only: one peer reaching it is enough to hold back', () => {
    const steps = simulate(20, () => ({ sql: 'refused', peer: (p) => (p === 'g1-b' ? 'reached' : 'cut') }));
    expect(steps.some((s) => s.failover)).toBe(false);
  });

  test('the monitor cut off from everything: no peer can be asked, nothing is done', () => {
    const steps = simulate(20, () => ({ sql: 'refused', peer: () => 'unasked' }));
    expect(steps.some((s) => s.failover)).toBe(false);
  });

  test('a round in which a peer reaches it starts the count again', () => {
    const steps = simulate(12, (at) => ({ sql: 'refused', peer: () => (at === 2000 ? 'reached' : 'cut') }));
    // Without that round the failover would be due at 2000; after
    // it the peers' run starts again at 2500 and needs 1000 ms.
    expect(firstFailover(steps)).toBe(3500);
  });

  test('a container that is not running anymore goes back to the Docker path', () => {
    const steps = simulate(6, (at) =>
      at >= 1500 ? { sql: 'refused', container: 'exited' } : at >= 500 ? { sql: 'refused' } : { sql: 'ok' },
    );
    // Exited: the Docker-confirmed path decides (2 failures over 500 ms), not the peers.
    expect(firstFailover(steps)).toBe(1500);
  });
});
