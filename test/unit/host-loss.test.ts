/**
 * The monitor's evidence that a primary's host is lost (common/host-loss.ts): the run of rounds in
 * which its engine and SQL were silent and no peer reached it, the hint a failover gets from it, and
 * when the failover uses that hint. Clock from 0.
 */
import { foldHostCut, hintVerdict, hostLossConfirmation, hostLossHint, type HostCut } from '../../common/host-loss';
import { lostSinceWithHint } from '../../common/host-silence';
import { DEFAULT_THRESHOLDS, HOST_LOSS_DETECTION, primaryVerdict } from '../../common/monitor-decisions';
import type { MemberObservation } from '../../common/monitor-observation';
import type { PeerView } from '../../common/peer-view';
import { parseSpec } from '../../common/spec';
import { hostOfContainer } from '../../common/addressing';

const CUT: PeerView = { reached: [], cut: ['g1-b'], unasked: [] };
const round = (peersAt: number | undefined, over: Partial<MemberObservation> = {}): MemberObservation => ({
  member: 'g1-a',
  at: (peersAt ?? 0) - 1000,
  container: 'unknown',
  sql: { ok: false, ms: 500, error: 'timeout' },
  peers: CUT,
  ...(peersAt === undefined ? {} : { peersAt }),
  ...over,
});

describe('foldHostCut', () => {
  test('runs while engine, SQL and peers all say lost; stamped when the peers answered', () => {
    const a = foldHostCut(undefined, round(1000));
    expect(a).toEqual({ rounds: 1, since: 1000, until: 1000 });
    expect(foldHostCut(a, round(2500))).toEqual({ rounds: 2, since: 1000, until: 2500 });
  });
  test.each<[string, Partial<MemberObservation>]>([
    ['the engine answers (the container runs)', { container: 'running' }],
    ['the engine says the container is down', { container: 'exited' }],
    ['SQL answers', { sql: { ok: true } as MemberObservation['sql'] }],
    ['a peer reaches it', { peers: { reached: ['g1-b'], cut: [], unasked: [] } }],
    ['no peer could be asked', { peers: { reached: [], cut: [], unasked: ['g1-b: timeout'] } }],
    ['peers not asked', { peers: undefined }],
  ])('ends when %s', (_, over) => {
    const prev: HostCut = { rounds: 3, since: 0, until: 2000 };
    expect(foldHostCut(prev, round(3000, over))).toBeUndefined();
  });
  test('a round with no stamp of the peers never counts', () => {
    expect(foldHostCut(undefined, round(undefined))).toBeUndefined();
  });
});

describe('hostLossConfirmation', () => {
  const cut: HostCut = { rounds: 1, since: 2000, until: 2000 };
  const track = (over: Partial<MemberObservation> = {}, failures = 1, hostCut: HostCut | null = cut) => ({
    failures,
    ...(hostCut ? { hostCut } : {}),
    last: round(2000, over),
  });
  test('engine silent, SQL failed and every answering peer cut: lost on the first such round', () => {
    expect(hostLossConfirmation(track(), 1)).toMatch(/host lost: .*no peer reaches it \(g1-b cannot connect\)/);
  });
  test.each<[string, ReturnType<typeof track>, number | undefined]>([
    ['a monitor started before the verdict (no threshold)', track(), undefined],
    ['fewer failed probes than the threshold', track({}, 1), 2],
    ['no run of lost rounds', track({}, 1, null), 1],
    ["the run ended before the latest round's peers answered", track({}, 1, { rounds: 2, since: 0, until: 1500 }), 1],
    ['the engine answers', track({ container: 'running' }), 1],
    ['SQL answers', track({ sql: { ok: true } as MemberObservation['sql'] }), 1],
  ])('not confirmed: %s', (_, t, failures) => {
    expect(hostLossConfirmation(t, failures)).toBeUndefined();
  });
  test("the monitor's verdict: failed at once with the threshold, suspect without (monitors started before)", () => {
    const t = { ...track(), failingSince: 1000 };
    const group = { streaming: ['g1-b'] } as unknown as Parameters<typeof primaryVerdict>[1];
    const standby = { 'g1-b': undefined };
    expect(primaryVerdict(t, group, standby, { ...DEFAULT_THRESHOLDS, ...HOST_LOSS_DETECTION })).toMatchObject({
      state: 'failed',
      reason: expect.stringMatching(/^1 failed probes .*; host lost: /) as unknown as string,
    });
    expect(primaryVerdict(t, group, standby, DEFAULT_THRESHOLDS).state).toBe('suspect');
  });
});

describe('hostLossHint', () => {
  const TLS = { caFile: '/c', certFile: '/c', keyFile: '/k' };
  const spec = parseSpec({
    hosts: [
      { name: 'h1', endpoint: 'tcp://10.1.0.1:2376', tls: TLS },
      { name: 'h2', endpoint: 'tcp://10.1.0.2:2376', tls: TLS },
    ],
    backup: { enabled: false },
  });
  const history = (cut: HostCut | undefined, lastPeersAt: number) => ({
    primaries: { g1: 'g1-a' },
    members: { 'g1-a': { ...(cut ? { hostCut: cut } : {}), last: round(lastPeersAt) } },
  });
  test("the run's length, for the primary and its host", () => {
    expect(hostLossHint(spec, history({ rounds: 2, since: 1000, until: 2800 }, 2800), 'g1')).toEqual({
      member: 'g1-a',
      host: hostOfContainer(spec, 'g1-a').name,
      lostForMs: 1800,
    });
  });
  test("to the probe's return (monitors started since): the round's age counts too", () => {
    const returned = { ...history({ rounds: 1, since: 1000, until: 1000 }, 1000), returnedAt: 1250 };
    expect(hostLossHint(spec, returned, 'g1', true)?.lostForMs).toBe(250);
    expect(hostLossHint(spec, returned, 'g1')?.lostForMs).toBe(0); // monitors started before
    expect(hostLossHint(spec, history({ rounds: 1, since: 1000, until: 1000 }, 1000), 'g1', true)?.lostForMs).toBe(0);
  });
  test('none without a run, or with a run the latest round is not part of, or on one host', () => {
    expect(hostLossHint(spec, history(undefined, 2800), 'g1')).toBeUndefined();
    expect(hostLossHint(spec, history({ rounds: 2, since: 1000, until: 2000 }, 2800), 'g1')).toBeUndefined();
    expect(hostLossHint(parseSpec({}), history({ rounds: 2, since: 1000, until: 2800 }, 2800), 'g1')).toBeUndefined();
    expect(hostLossHint(spec, history({ rounds: 2, since: 1000, until: 2800 }, 2800), 'g2')).toBeUndefined();
  });
});

describe('hintVerdict', () => {
  const at = { oldPrimary: 'g1-a', host: 'h2', monitorId: 'monitor-demo' };
  const hint = { member: 'g1-a', host: 'h2', lostForMs: 1800 };
  test("used only from the cluster's monitor, about the primary failed over and its host", () => {
    expect(hintVerdict(hint, { ...at, parentId: 'monitor-demo' })).toEqual({ use: true, lostForMs: 1800 });
    expect(hintVerdict(hint, at)).toMatchObject({ use: false, why: /not started by the cluster's monitor/ });
    expect(hintVerdict(hint, { ...at, parentId: 'monitor-other' })).toMatchObject({ use: false });
    expect(hintVerdict({ ...hint, member: 'g1-b' }, { ...at, parentId: 'monitor-demo' })).toMatchObject({
      use: false,
      why: /about g1-b on h2, not g1-a on h2/,
    });
    expect(hintVerdict({ ...hint, host: 'h1' }, { ...at, parentId: 'monitor-demo' })).toMatchObject({ use: false });
    expect(hintVerdict(undefined, { ...at, parentId: 'monitor-demo' })).toMatchObject({ use: false });
  });
});

describe('lostSinceWithHint', () => {
  const reach = (verdict: 'cut' | 'reached' | 'unknown', at: number) => ({ host: 'h2', verdict, at, detail: '' });
  test('the earlier of the own look and the start less the monitor-measured loss', () => {
    expect(lostSinceWithHint(reach('cut', 10_000), { lostForMs: 1800, startedAt: 8_000 })).toBe(6_200);
    expect(lostSinceWithHint(reach('cut', 10_000), undefined)).toBe(10_000);
  });
  test('an own look that does not find the host lost: no loss, whatever the monitor said', () => {
    expect(lostSinceWithHint(reach('reached', 10_000), { lostForMs: 60_000, startedAt: 8_000 })).toBeUndefined();
    expect(lostSinceWithHint(reach('unknown', 10_000), { lostForMs: 60_000, startedAt: 8_000 })).toBeUndefined();
  });
});
