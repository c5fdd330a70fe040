import { lsnToBigInt } from '../../common/lsn';
import {
  afterFailedPromotion,
  needsOperatorDetail,
  pickStandby,
  primaryIsDown,
  unfenceBlockers,
  type StandbyPosition,
  type UnfenceView,
} from '../../common/failover-decisions';

const down = (detail = 'refused') => ({ ok: false, detail });
const up = { ok: true, detail: 'answers as primary' };

describe('primaryIsDown', () => {
  test('down only when at least minProbes probes all failed', () => {
    expect(primaryIsDown([down(), down(), down()])).toBe(true);
    expect(primaryIsDown([down(), down(), down(), down()])).toBe(true);
  });
  test('too few probes is not proof', () => {
    expect(primaryIsDown([])).toBe(false);
    expect(primaryIsDown([down(), down()])).toBe(false);
    expect(primaryIsDown([down()], 1)).toBe(true);
    expect(primaryIsDown([down(), down(), down()], 5)).toBe(false);
  });
  test.each([0, 1, 2])('any success (probe %i) means alive', (i) => {
    const probes = [down(), down(), down()];
    probes[i] = up;
    expect(primaryIsDown(probes)).toBe(false);
  });
});

describe('lsnToBigInt', () => {
  test('parses hi/lo hex', () => {
    expect(lsnToBigInt('0/0')).toBe(0n);
    expect(lsnToBigInt('0/3000148')).toBe(0x3000148n);
    expect(lsnToBigInt('16/B374D848')).toBe((0x16n << 32n) + 0xb374d848n);
    expect(lsnToBigInt('16/b374d848')).toBe(lsnToBigInt('16/B374D848'));
  });
  test('orders across the / boundary, not as strings', () => {
    expect(lsnToBigInt('1/0')).toBeGreaterThan(lsnToBigInt('0/FFFFFFFF'));
    expect(lsnToBigInt('1/0') - lsnToBigInt('0/FFFFFFFF')).toBe(1n);
    expect(lsnToBigInt('0/10000000')).toBeGreaterThan(lsnToBigInt('0/9000000')); // '1' < '9' as strings
    expect(lsnToBigInt('A/0')).toBeGreaterThan(lsnToBigInt('9/FFFFFFFF'));
  });
  test.each(['', '0', '123'])('rejects %p', (bad) => {
    expect(() => lsnToBigInt(bad)).toThrow(/not an LSN/);
  });
});

describe('pickStandby', () => {
  const pos = (member: string, replayLsn: string | null, extra: Partial<StandbyPosition> = {}): StandbyPosition => ({
    member,
    reachable: true,
    inRecovery: true,
    replayLsn,
    receiveLsn: replayLsn,
    ...extra,
  });

  test('highest received LSN wins', () => {
    expect(pickStandby([pos('b', '0/5000000'), pos('c', '0/3000000')])).toEqual({
      member: 'b',
      reason: 'highest received LSN 0/5000000',
    });
    expect(pickStandby([pos('b', '0/3000000'), pos('c', '0/5000000')]).member).toBe('c');
  });
  test('compares LSNs numerically across the / boundary', () => {
    expect(pickStandby([pos('b', '0/FFFFFFFF'), pos('c', '1/0')]).member).toBe('c');
    expect(pickStandby([pos('b', '0/9000000'), pos('c', '0/10000000')]).member).toBe('c');
  });
  test('a member already out of recovery wins outright, even when behind or not preferred', () => {
    const positions = [pos('b', '0/5000000'), pos('c', '0/3000000', { inRecovery: false })];
    expect(pickStandby(positions)).toEqual({ member: 'c', reason: 'c is already promoted' });
    expect(pickStandby(positions, 'b').member).toBe('c');
  });
  test('an unreachable member is never "already promoted"', () => {
    expect(pickStandby([pos('b', '0/1'), pos('c', null, { reachable: false, inRecovery: false })]).member).toBe('b');
  });
  test('preferred must be a reachable streaming standby', () => {
    const positions = [pos('b', '0/5000000'), pos('c', '0/3000000'), pos('d', '0/9000000', { reachable: false })];
    expect(pickStandby(positions, 'c')).toEqual({ member: 'c', reason: 'requested c' });
    expect(pickStandby(positions, 'd')).toEqual({ member: null, reason: 'd is not a reachable streaming standby' });
    expect(pickStandby(positions, 'zz')).toEqual({ member: null, reason: 'zz is not a reachable streaming standby' });
  });
  test('unreachable standbys and those without a replay LSN are excluded', () => {
    expect(pickStandby([pos('b', '0/9000000', { reachable: false }), pos('c', null), pos('d', '0/1')]).member).toBe(
      'd',
    );
  });
  test('ties keep the given order', () => {
    expect(pickStandby([pos('b', '0/5000000'), pos('c', '0/5000000')]).member).toBe('b');
    expect(pickStandby([pos('c', '0/5000000'), pos('b', '0/5000000')]).member).toBe('c');
    expect(pickStandby([pos('a', '0/1'), pos('b', '0/5000000'), pos('c', '0/5000000')]).member).toBe('b');
  });
  test('received beats replayed: a standby that received more wins even if it replayed less', () => {
    const b = pos('b', '0/5000000', { receiveLsn: '0/5000000' });
    const c = pos('c', '0/4000000', { receiveLsn: '0/6000000' });
    expect(pickStandby([b, c])).toEqual({ member: 'c', reason: 'highest received LSN 0/6000000' });
    // No receive position (never streamed since start): its replayed position counts.
    expect(pickStandby([pos('b', '0/7000000', { receiveLsn: null }), c]).member).toBe('b');
  });
  test('no candidate', () => {
    expect(pickStandby([])).toEqual({ member: null, reason: 'the group has no standby' });
    expect(pickStandby([pos('b', null, { reachable: false }), pos('c', null, { reachable: false })])).toEqual({
      member: null,
      reason: 'no reachable standby (b, c)',
    });
    expect(pickStandby([pos('b', null)]).member).toBeNull();
  });
});

describe('unfenceBlockers: a member that cannot be reached counts as possibly writable', () => {
  const view = (member: string, over: Partial<UnfenceView> = {}): UnfenceView => ({
    member,
    reachable: true,
    inRecovery: true,
    container: 'running',
    state: 'standby',
    ...over,
  });

  test('every other member answers in recovery: nothing blocks', () => {
    expect(unfenceBlockers([view('g1-b'), view('g1-c')])).toEqual([]);
    expect(unfenceBlockers([])).toEqual([]);
  });
  test('a writable member blocks', () => {
    expect(unfenceBlockers([view('g1-b', { inRecovery: false }), view('g1-c')])).toEqual([
      { member: 'g1-b', why: 'is writable' },
    ]);
  });
  test.each(['running', 'paused', 'restarting', 'unknown'])(
    'unreachable with its container %s: may have been promoted, blocks',
    (container) => {
      expect(unfenceBlockers([view('g1-b', { reachable: false, container })])).toEqual([
        { member: 'g1-b', why: `cannot be reached (container ${container}): it may have been promoted` },
      ]);
    },
  );
  test.each(['exited', 'dead', 'absent', 'created'])(
    'unreachable with its container %s and a standby state: it starts in recovery, does not block',
    (container) => {
      expect(unfenceBlockers([view('g1-b', { reachable: false, container })])).toEqual([]);
      expect(unfenceBlockers([view('g1-b', { reachable: false, container, state: undefined })])).toEqual([]);
      expect(unfenceBlockers([view('g1-b', { reachable: false, container, state: 'fenced' })])).toEqual([]);
    },
  );
  test('a stopped member recorded as primary would start writable: blocks', () => {
    expect(unfenceBlockers([view('g1-b', { reachable: false, container: 'exited', state: 'primary' })])).toEqual([
      { member: 'g1-b', why: 'is recorded as a primary (container exited): it would start writable' },
    ]);
  });
  test('every blocker is named', () => {
    const b = unfenceBlockers([
      view('g1-b', { reachable: false, container: 'paused' }),
      view('g1-c', { inRecovery: false }),
      view('g1-d'),
    ]);
    expect(b.map((x) => x.member)).toEqual(['g1-b', 'g1-c']);
  });
});

describe('afterFailedPromotion', () => {
  const pos = (member: string, over: Partial<StandbyPosition> = {}): StandbyPosition => ({
    member,
    reachable: true,
    inRecovery: true,
    replayLsn: '0/1',
    receiveLsn: '0/1',
    ...over,
  });

  test('the candidate answers as writable and nobody else is: adopt it', () => {
    expect(afterFailedPromotion('g1-b', [pos('g1-b', { inRecovery: false }), pos('g1-c')])).toEqual({
      action: 'adopt',
      reason: 'g1-b answers as writable: its promotion went through',
    });
  });
  test('the candidate cannot be reached: try the un-fence (which refuses it while it may be writable)', () => {
    expect(afterFailedPromotion('g1-b', [pos('g1-b', { reachable: false }), pos('g1-c')])).toEqual({
      action: 'try-unfence',
      reason: 'g1-b cannot be reached',
    });
    expect(afterFailedPromotion('g1-b', [pos('g1-c')])).toMatchObject({
      action: 'try-unfence',
      reason: 'g1-b cannot be reached',
    });
  });
  test('the candidate is still in recovery: the promotion did not happen', () => {
    expect(afterFailedPromotion('g1-b', [pos('g1-b'), pos('g1-c')])).toEqual({
      action: 'try-unfence',
      reason: 'g1-b is still in recovery',
    });
  });
  test('another member is writable too: never adopt', () => {
    expect(
      afterFailedPromotion('g1-b', [pos('g1-b', { inRecovery: false }), pos('g1-c', { inRecovery: false })]),
    ).toEqual({ action: 'try-unfence', reason: 'g1-c is writable too' });
  });
});

test('needsOperatorDetail names what to run in either case', () => {
  const d = needsOperatorDetail('g1', 'g1-a', 'g1-b', 'g1-b cannot be reached');
  expect(d).toMatch(/^g1-a stays fenced: g1-b cannot be reached\./);
  expect(d).toContain('`citusctl failover g1` finishes the failover onto it');
  expect(d).toContain('`citusctl unfence g1-a`');
});
