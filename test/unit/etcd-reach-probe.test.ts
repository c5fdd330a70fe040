/**
 * The etcd reach probe (lib/etcd-reach-probe.ts): members whose port does not connect are marked
 * unreachable on the client's skip board while calls come, lifted as soon as they connect again, and
 * the probe stops once the client is idle. A real knock against a listening and a closed port.
 */
import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import * as net from 'node:net';
import { skipBoard, skipWhileUnanswered } from '../../lib/etcd-host-skip';
import { IDLE_STOP_MS, PROBE_EVERY_MS, UNREACHABLE_MS, knock, probeWhileUsed } from '../../lib/etcd-reach-probe';

describe('probeWhileUsed', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  const setUp = () => {
    const board = skipBoard(['https://a:1', 'https://b:1']);
    const down = new Set<string>();
    const knocks: string[] = [];
    probeWhileUsed(board, async (m) => {
      knocks.push(m);
      return !down.has(m);
    });
    return { board, down, knocks };
  };
  const tick = async (ms: number) => {
    await jest.advanceTimersByTimeAsync(ms);
  };

  test('nothing is knocked on before the first call', async () => {
    const { knocks } = setUp();
    await tick(5 * PROBE_EVERY_MS);
    expect(knocks).toEqual([]);
  });

  test('a member that stops connecting is skipped by calls, and taken again once it connects', async () => {
    const { board, down } = setUp();
    const policy = skipWhileUnanswered('https://b:1', Date.now, board);
    board.onCall!();
    down.add('https://b:1');
    await tick(PROBE_EVERY_MS);
    expect(board.unreachable.get('https://b:1')).toBe(Date.now() + UNREACHABLE_MS);
    expect(board.unreachable.has('https://a:1')).toBe(false);
    await expect(policy.execute(async () => 'answer')).rejects.toThrow(/its port does not answer/);
    down.delete('https://b:1');
    await tick(PROBE_EVERY_MS);
    expect(board.unreachable.has('https://b:1')).toBe(false);
    await expect(policy.execute(async () => 'answer')).resolves.toBe('answer');
  });

  test('a call waiting on a member whose port goes away fails over at once, not at its deadline', async () => {
    const { board, down } = setUp();
    const policy = skipWhileUnanswered('https://b:1', Date.now, board);
    const waiting = policy.execute(() => new Promise<string>(() => undefined)); // a dead host never answers
    const settled = waiting.then(
      () => 'answered',
      (err: Error) => err.message,
    );
    down.add('https://b:1');
    await tick(PROBE_EVERY_MS);
    await expect(settled).resolves.toMatch(/https:\/\/b:1 unavailable: its port stopped answering/);
    expect(board.inFlight.get('https://b:1')?.size).toBe(0);
  });

  test('while every member is unreachable calls go through', async () => {
    const { board, down } = setUp();
    board.onCall!();
    down.add('https://a:1').add('https://b:1');
    await tick(PROBE_EVERY_MS);
    const policy = skipWhileUnanswered('https://a:1', Date.now, board);
    await expect(policy.execute(async () => 'answer')).resolves.toBe('answer');
  });

  test('stops once no call came for a while', async () => {
    const { board, knocks } = setUp();
    board.onCall!();
    await tick(IDLE_STOP_MS + 3 * PROBE_EVERY_MS);
    const count = knocks.length;
    expect(count).toBeGreaterThan(0);
    await tick(10 * PROBE_EVERY_MS);
    expect(knocks.length).toBe(count);
  });
});

describe('knock', () => {
  test('a listening port connects, a closed one does not', async () => {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    expect(await knock(`https://127.0.0.1:${port}`, 1000)).toBe(true);
    await new Promise<void>((r) => server.close(() => r()));
    expect(await knock(`https://127.0.0.1:${port}`, 1000)).toBe(false);
  });
});
