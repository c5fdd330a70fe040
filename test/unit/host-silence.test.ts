/**
 * A failover's verdict on an old primary whose host does not answer: fenced only once its peers have
 * lost the host for the self-fence deadline (plus a margin), refused when they still reach it or
 * nobody can tell. Clock from 0.
 */
import {
  HOST_LOOK_LEAD_MS,
  HOST_SILENCE_MARGIN_MS,
  foldHostLoss,
  hostReachVerdict,
  hostSilenceDecision,
  nextLookInMs,
  selfFenceDecidedAfterMs,
  selfFenceDoneAfterMs,
  type HostReach,
} from '../../common/host-silence';
import { SELF_FENCE_TIMINGS, SELF_FENCE_WINDOW_MS, fenceAfterMs } from '../../common/self-fence';

const AFTER = selfFenceDoneAfterMs() + HOST_SILENCE_MARGIN_MS;
const reach = (verdict: HostReach['verdict'], at: number): HostReach => ({
  host: 'h1',
  verdict,
  at,
  detail: 'g2-b cannot connect',
});

test("the self-fence is done one self-fence window after the loop's last etcd read", () => {
  expect(selfFenceDoneAfterMs()).toBe(SELF_FENCE_WINDOW_MS);
  const loop = { ...SELF_FENCE_TIMINGS, probeIntervalMs: 100 };
  const done = fenceAfterMs(loop, 3000) + 100 + loop.probeTimeoutMs + loop.stopBudgetMs;
  expect(selfFenceDoneAfterMs(loop, 3000)).toBe(done);
});

test.each([
  // [what, lostSince, now, action]
  ['just lost', 0, 0, 'wait'],
  ['one ms short of the deadline', 0, AFTER - 1, 'wait'],
  ['at the deadline', 0, AFTER, 'fenced'],
  ['long lost', 0, AFTER + 60_000, 'fenced'],
] as const)('a host cut off (%s)', (_what, lostSince, now, action) => {
  const d = hostSilenceDecision({ reach: reach('cut', now), lostSince, now, fencedAfterMs: AFTER });
  expect(d.action).toBe(action);
  if (d.action === 'wait') expect(d.waitMs).toBe(AFTER - (now - lostSince));
});

test('a host its peers reach is refused, however long its worker has been silent', () => {
  const d = hostSilenceDecision({
    reach: reach('reached', 10_000),
    lostSince: undefined,
    now: 60_000,
    fencedAfterMs: AFTER,
  });
  expect(d).toMatchObject({ action: 'refuse' });
  expect(d.reason).toMatch(/peers reach it.*self-fence is not running/);
});

test('nobody could be asked: refused, never taken as fenced', () => {
  expect(
    hostSilenceDecision({ reach: reach('unknown', 0), lostSince: undefined, now: 60_000, fencedAfterMs: AFTER }),
  ).toMatchObject({ action: 'refuse' });
});

test('the loss runs from the first cut observation; any other observation ends it', () => {
  let since = foldHostLoss(undefined, reach('cut', 100));
  expect(since).toBe(100);
  since = foldHostLoss(since, reach('cut', 900));
  expect(since).toBe(100);
  expect(foldHostLoss(since, reach('reached', 1000))).toBeUndefined();
  expect(foldHostLoss(since, reach('unknown', 1000))).toBeUndefined();
  // A loss the monitor saw earlier than this run's first observation is kept.
  expect(foldHostLoss(50, reach('cut', 900))).toBe(50);
});

test('a blip the peers saw end before the deadline never counts: the run restarts', () => {
  let since = foldHostLoss(undefined, reach('cut', 0));
  since = foldHostLoss(since, reach('reached', 800));
  since = foldHostLoss(since, reach('cut', 1000));
  const d = hostSilenceDecision({ reach: reach('cut', AFTER), lostSince: since, now: AFTER, fencedAfterMs: AFTER });
  expect(d).toMatchObject({ action: 'wait', waitMs: 1000 });
});

test.each([
  [
    'a peer reaches one member',
    [
      { reached: ['g2-b'], cut: [] },
      { reached: [], cut: ['g2-b'] },
    ],
    false,
    'reached',
  ],
  ['only this machine reaches a port', [{ reached: [], cut: ['g2-b'] }], true, 'reached'],
  [
    'peers answered, none reached',
    [
      { reached: [], cut: ['g2-b'] },
      { reached: [], cut: ['coord-b'] },
    ],
    false,
    'cut',
  ],
  ['no peer answered', [{ reached: [], cut: [] }], false, 'unknown'],
  ['no member to ask about', [], false, 'unknown'],
] as const)('host reach: %s', (_what, views, controller, verdict) => {
  expect(hostReachVerdict(views, controller)).toBe(verdict);
});

test('the next look starts a look before the deadline, looks at least 200 ms apart', () => {
  expect(nextLookInMs(HOST_LOOK_LEAD_MS + 250)).toBe(250);
  expect(nextLookInMs(HOST_LOOK_LEAD_MS - 1)).toBe(200);
  expect(nextLookInMs(150)).toBe(150);
});

describe('a look that saw the host lost until its self-fence decided', () => {
  const DECIDED = selfFenceDecidedAfterMs() + HOST_SILENCE_MARGIN_MS;
  const decide = (seenAt: number, now: number) =>
    hostSilenceDecision({
      reach: reach('cut', seenAt),
      lostSince: 0,
      now,
      fencedAfterMs: AFTER,
      decidedAfterMs: DECIDED,
    });
  test('the loop decides before the stop is surely done: between the two, the decision', () => {
    expect(DECIDED).toBeLessThan(AFTER);
    expect(selfFenceDecidedAfterMs() + SELF_FENCE_TIMINGS.stopBudgetMs).toBe(selfFenceDoneAfterMs());
  });
  test('seen long enough, before the stop is done: wait for it, no further look', () => {
    expect(decide(DECIDED, DECIDED)).toMatchObject({ action: 'wait', lookAgain: false, waitMs: AFTER - DECIDED });
  });
  test('seen long enough, the stop done by now: fenced without another look', () => {
    expect(decide(DECIDED, AFTER).action).toBe('fenced');
  });
  test('not seen long enough: another look, even when the stop would be done by now', () => {
    expect(decide(DECIDED - 1, AFTER + 5000)).toMatchObject({ action: 'wait', lookAgain: true });
  });
  test('without the threshold (failovers recorded before): fenced only once lost for the whole deadline', () => {
    const d = hostSilenceDecision({
      reach: reach('cut', AFTER - 1),
      lostSince: 0,
      now: AFTER - 1,
      fencedAfterMs: AFTER,
    });
    expect(d).toMatchObject({ action: 'wait', lookAgain: true, waitMs: 1 });
  });
});
