/**
 * The host worker's self-fence decision: never on one host or while every other host answers
 * (Patroni's failsafe), not before the deadline (an etcd blip), and a deadline that ends the stop
 * before the monitor's failure window does. Rounds are simulated on a clock from 0.
 */
import {
  MIN_FENCE_AFTER_MS,
  SELF_FENCE_TIMINGS,
  SELF_FENCE_WINDOW_MS,
  fenceAfterMs,
  localPrimaries,
  peerTargets,
  selfFenceDecision,
  type SelfFenceInput,
} from '../../common/self-fence';

const DEADLINE = fenceAfterMs(SELF_FENCE_TIMINGS);
const G1A = { member: 'g1-a', group: 'g1', othersElsewhere: 1 };

/** h1 cut off from etcd and both other hosts since it last read etcd at 1000. */
const cutOff = (over: Partial<SelfFenceInput> = {}): SelfFenceInput => ({
  enabled: true,
  hostCount: 3,
  now: 1000 + DEADLINE,
  startedAt: 0,
  lastEtcdOkAt: 1000,
  etcdOk: false,
  peers: { h2: false, h3: false },
  primaries: [G1A],
  fenced: [],
  fenceAfterMs: DEADLINE,
  ...over,
});

describe('fenceAfterMs', () => {
  it('leaves one round and a stop inside the self-fence window', () => {
    const t = SELF_FENCE_TIMINGS;
    expect(DEADLINE).toBe(SELF_FENCE_WINDOW_MS - t.probeIntervalMs - t.probeTimeoutMs - t.stopBudgetMs);
    // The latest stop: a round ending just before the deadline, the next one a full round later, then the stop.
    const latestStopDone = DEADLINE + t.probeIntervalMs + t.probeTimeoutMs + t.stopBudgetMs;
    expect(latestStopDone).toBeLessThanOrEqual(SELF_FENCE_WINDOW_MS);
    expect(DEADLINE).toBeGreaterThanOrEqual(MIN_FENCE_AFTER_MS);
  });

  it('refuses timings that leave no room for a blip', () => {
    expect(() => fenceAfterMs({ probeIntervalMs: 500, probeTimeoutMs: 500, stopBudgetMs: 300 }, 1500)).toThrow(
      /at least 400 ms/,
    );
  });
});

describe('selfFenceDecision', () => {
  it('fences the primary once etcd and every other host have been unreachable for the deadline', () => {
    const d = selfFenceDecision(cutOff());
    expect(d).toMatchObject({ action: 'fence', members: ['g1-a'] });
    expect(d.reason).toMatch(/etcd and h2, h3 unreachable/);
  });

  it('waits through a blip shorter than the deadline, then fences', () => {
    const rounds: string[] = [];
    for (let now = 1000; now <= 1000 + DEADLINE + 500; now += 500)
      rounds.push(selfFenceDecision(cutOff({ now })).action);
    expect(rounds[0]).toBe('wait');
    expect(rounds).toContain('fence');
    expect(rounds.indexOf('fence')).toBeGreaterThan(0);
    const wait = selfFenceDecision(cutOff({ now: 1000 + DEADLINE - 1 }));
    expect(wait).toEqual(expect.objectContaining({ action: 'wait', fenceAt: 1000 + DEADLINE }));
  });

  it('never fences on one host, whatever etcd does', () => {
    const d = selfFenceDecision(cutOff({ hostCount: 1, peers: {}, now: 10 ** 9 }));
    expect(d).toEqual({ action: 'nothing', reason: expect.stringMatching(/one host/) });
  });

  it('leaves primaries alone while every other host answers: an etcd outage (failsafe)', () => {
    const d = selfFenceDecision(cutOff({ peers: { h2: true, h3: true }, now: 10 ** 9 }));
    expect(d.action).toBe('nothing');
    expect(d.reason).toMatch(/every other host reachable/);
  });

  it("leaves primaries alone while it reaches a majority of the hosts: another host's loss, etcd electing", () => {
    const d = selfFenceDecision(cutOff({ peers: { h2: true, h3: false }, now: 10 ** 9 }));
    expect(d.action).toBe('nothing');
    expect(d.reason).toMatch(/with h2 this host is in the majority/);
  });

  it('fences from the minority side only: two of five hosts are not a majority, one of two is not either', () => {
    const five = { h2: true, h3: false, h4: false, h5: false };
    expect(selfFenceDecision(cutOff({ hostCount: 5, peers: five }))).toMatchObject({ action: 'fence' });
    const three = { ...five, h3: true };
    expect(selfFenceDecision(cutOff({ hostCount: 5, peers: three, now: 10 ** 9 })).action).toBe('nothing');
    expect(selfFenceDecision(cutOff({ hostCount: 2, peers: { h2: false } }))).toMatchObject({ action: 'fence' });
  });

  it('does nothing while etcd answers, even with every other host gone', () => {
    expect(selfFenceDecision(cutOff({ etcdOk: true, lastEtcdOkAt: 10 ** 9, now: 10 ** 9 })).action).toBe('nothing');
  });

  it('does nothing when off', () => {
    expect(selfFenceDecision(cutOff({ enabled: false }))).toEqual({
      action: 'nothing',
      reason: 'self-fencing is off',
    });
  });

  it('counts from the loop start when etcd was never reached', () => {
    expect(selfFenceDecision(cutOff({ lastEtcdOkAt: undefined, startedAt: 0, now: DEADLINE - 1 })).action).toBe('wait');
    expect(selfFenceDecision(cutOff({ lastEtcdOkAt: undefined, startedAt: 0, now: DEADLINE })).action).toBe('fence');
  });

  it('does not stop a member twice, nor a primary whose group has nobody elsewhere to promote', () => {
    expect(selfFenceDecision(cutOff({ fenced: ['g1-a'] }))).toEqual({
      action: 'nothing',
      reason: expect.stringMatching(/already stopped/),
    });
    expect(selfFenceDecision(cutOff({ primaries: [{ ...G1A, othersElsewhere: 0 }] }))).toEqual({
      action: 'nothing',
      reason: expect.stringMatching(/no member of g1 on another host/),
    });
    expect(selfFenceDecision(cutOff({ primaries: [] })).reason).toMatch(/no primary on this host/);
  });

  it('fences every fenceable primary of the host at once', () => {
    const d = selfFenceDecision(
      cutOff({ primaries: [G1A, { member: 'coord-a', group: 'coordinator', othersElsewhere: 2 }] }),
    );
    expect(d).toMatchObject({ action: 'fence', members: ['g1-a', 'coord-a'] });
  });
});

describe('localPrimaries', () => {
  const members = [
    { name: 'coord-a', group: 'coordinator', host: 'h1' },
    { name: 'coord-b', group: 'coordinator', host: 'h1' },
    { name: 'g1-a', group: 'g1', host: 'h1' },
    { name: 'g1-b', group: 'g1', host: 'h2' },
    { name: 'g1-c', group: 'g1', host: 'h3' },
    { name: 'g2-a', group: 'g2', host: 'h2' },
  ];

  it('the running members etcd named primary, with their group members on other hosts', () => {
    const primaries = { coordinator: 'coord-a', g1: 'g1-a', g2: 'g2-a' };
    expect(localPrimaries(['coord-a', 'coord-b', 'g1-a'], primaries, members, 'h1')).toEqual([
      { member: 'coord-a', group: 'coordinator', othersElsewhere: 0 },
      { member: 'g1-a', group: 'g1', othersElsewhere: 2 },
    ]);
  });

  it('a standby running here, or a primary not running here, is none', () => {
    expect(localPrimaries(['coord-b'], { coordinator: 'coord-a', g1: 'g1-b' }, members, 'h1')).toEqual([]);
  });
});

describe('peerTargets', () => {
  it("each other host's members at its address, then its engine port (not for a unix socket)", () => {
    const hosts = [
      { name: 'h1', address: '10.0.0.11', endpoint: 'tcp://10.0.0.11:2376' },
      { name: 'h2', address: '10.0.0.12', endpoint: 'tcp://10.0.0.12:2376' },
      { name: 'h3', address: '10.0.0.13', endpoint: 'unix:///var/run/docker.sock' },
    ];
    const members = [
      { name: 'g1-a', group: 'g1', host: 'h1', port: 5433 },
      { name: 'g1-b', group: 'g1', host: 'h2', port: 5434 },
      { name: 'coord-a', group: 'coordinator', host: 'h3', port: 5432 },
    ];
    expect(peerTargets(hosts, members, 'h1')).toEqual([
      { host: 'h2', kind: 'postgres', address: '10.0.0.12', port: 5434 },
      { host: 'h2', kind: 'engine', address: '10.0.0.12', port: 2376 },
      { host: 'h3', kind: 'postgres', address: '10.0.0.13', port: 5432 },
    ]);
  });
});
