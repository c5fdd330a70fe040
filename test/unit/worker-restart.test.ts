import { planAfterExit, restartDelayMs, RESTART_POLICY } from '../../common/worker-restart';

const { stableMs, firstDelayMs, maxDelayMs, standbyAfterTakeoverMs } = RESTART_POLICY;

describe('restartDelayMs', () => {
  test('a worker that ran for a while is replaced at once, whatever came before', () => {
    expect(restartDelayMs(stableMs, 0)).toBe(0);
    expect(restartDelayMs(stableMs + 60_000, maxDelayMs)).toBe(0);
  });
  test('one that died young waits, twice as long each time it happens again, up to the maximum', () => {
    expect(restartDelayMs(stableMs - 1, 0)).toBe(firstDelayMs);
    const delays: number[] = [];
    let d = 0;
    for (let i = 0; i < 8; i++) delays.push((d = restartDelayMs(100, d)));
    expect(delays.slice(0, 4)).toEqual([firstDelayMs, firstDelayMs * 2, firstDelayMs * 4, firstDelayMs * 8]);
    expect(Math.max(...delays)).toBe(maxDelayMs);
    expect(delays.at(-1)).toBe(maxDelayMs);
  });
  test('a stable run ends the backoff', () => {
    const backedOff = restartDelayMs(100, restartDelayMs(100, restartDelayMs(100, 0)));
    expect(backedOff).toBeGreaterThan(firstDelayMs);
    expect(restartDelayMs(stableMs, backedOff)).toBe(0);
    expect(restartDelayMs(100, restartDelayMs(stableMs, backedOff))).toBe(firstDelayMs);
  });
});

describe('planAfterExit', () => {
  test('the active worker dies with a standby there: the standby takes over at once, a new standby follows', () => {
    const plan = planAfterExit({ role: 'active', ranMs: stableMs * 10, previousDelayMs: 0, standbyRunning: true });
    expect(plan).toEqual({ promoteStandby: true, startRole: 'standby', startDelayMs: standbyAfterTakeoverMs });
  });
  test('even a worker that keeps dying young is taken over at once; only its replacement backs off', () => {
    const plan = planAfterExit({ role: 'active', ranMs: 50, previousDelayMs: 4_000, standbyRunning: true });
    expect(plan.promoteStandby).toBe(true);
    expect(plan.startDelayMs).toBe(Math.max(8_000, standbyAfterTakeoverMs));
    const later = planAfterExit({ role: 'active', ranMs: 50, previousDelayMs: maxDelayMs, standbyRunning: true });
    expect(later).toEqual({
      promoteStandby: true,
      startRole: 'standby',
      startDelayMs: Math.max(maxDelayMs, standbyAfterTakeoverMs),
    });
  });
  test('the active worker dies with no standby: a new active one, at once after a stable run', () => {
    expect(planAfterExit({ role: 'active', ranMs: stableMs, previousDelayMs: 0, standbyRunning: false })).toEqual({
      promoteStandby: false,
      startRole: 'active',
      startDelayMs: 0,
    });
    expect(planAfterExit({ role: 'active', ranMs: 10, previousDelayMs: 0, standbyRunning: false })).toEqual({
      promoteStandby: false,
      startRole: 'active',
      startDelayMs: firstDelayMs,
    });
  });
  test('the standby dies: nothing is promoted, a new standby is started (backing off if it keeps dying)', () => {
    expect(planAfterExit({ role: 'standby', ranMs: stableMs, previousDelayMs: 0, standbyRunning: false })).toEqual({
      promoteStandby: false,
      startRole: 'standby',
      startDelayMs: 0,
    });
    expect(planAfterExit({ role: 'standby', ranMs: 10, previousDelayMs: firstDelayMs, standbyRunning: false })).toEqual(
      { promoteStandby: false, startRole: 'standby', startDelayMs: firstDelayMs * 2 },
    );
  });
});
