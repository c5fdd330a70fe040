/**
 * An etcd member that does not answer is skipped (its calls fail at once as UNAVAILABLE, which etcd3
 * takes as "try the next member") for 2 s, doubling per failure in a row up to 30 s; a success ends
 * it; other errors (a compare that failed, a bad request) do not count. Fake clock.
 */
import { GRPCDeadlineExceededError, GRPCNotFoundError, GRPCUnavailableError } from 'etcd3';
import { SKIP_BASE_MS, SKIP_MAX_MS, skipBoard, skipForMs, skipWhileUnanswered } from '../../lib/etcd-host-skip';

test('skip time doubles per failure in a row, up to the cap', () => {
  expect([0, 1, 2, 3, 4].map(skipForMs)).toEqual([
    0,
    SKIP_BASE_MS,
    2 * SKIP_BASE_MS,
    4 * SKIP_BASE_MS,
    8 * SKIP_BASE_MS,
  ]);
  expect(skipForMs(50)).toBe(SKIP_MAX_MS);
});

test('a member that did not answer is skipped, then tried again, and answered calls end the skipping', async () => {
  let t = 0;
  const p = skipWhileUnanswered('10.0.0.2:2379', () => t);
  let calls = 0;
  const dead = () => {
    calls++;
    throw new GRPCUnavailableError('connect EHOSTUNREACH');
  };
  await expect(p.execute(dead)).rejects.toThrow('EHOSTUNREACH');
  // Skipped: fails at once, the member is not called.
  t = SKIP_BASE_MS - 1;
  await expect(p.execute(dead)).rejects.toBeInstanceOf(GRPCUnavailableError);
  await expect(p.execute(dead)).rejects.toThrow(/unavailable: skipped for 1 ms more, 1 call\(s\) in a row unanswered/);
  expect(calls).toBe(1);
  // Tried again once the skip is over; a second failure in a row doubles it (a deadline counts too).
  t = SKIP_BASE_MS;
  await expect(
    p.execute(() => {
      calls++;
      throw new GRPCDeadlineExceededError('deadline');
    }),
  ).rejects.toThrow('deadline');
  expect(calls).toBe(2);
  t += 2 * SKIP_BASE_MS - 1;
  await expect(p.execute(dead)).rejects.toThrow(/skipped/);
  t += 1;
  await expect(p.execute(async () => 'value')).resolves.toBe('value');
  // Answered: the next failure skips for the base time again.
  await expect(p.execute(dead)).rejects.toThrow('EHOSTUNREACH');
  t += SKIP_BASE_MS;
  await expect(p.execute(async () => 'again')).resolves.toBe('again');
});

test('an error etcd answered with (not found, a failed compare) does not skip the member', async () => {
  const p = skipWhileUnanswered('10.0.0.2:2379', () => 0);
  await expect(
    p.execute(() => {
      throw new GRPCNotFoundError('key not found');
    }),
  ).rejects.toThrow('key not found');
  await expect(p.execute(async () => 1)).resolves.toBe(1);
});

test('while every member of a client is skipped, calls go through (etcd back as a whole answers at once)', async () => {
  const t = 0;
  const board = skipBoard(['a', 'b']);
  const a = skipWhileUnanswered('a', () => t, board);
  const b = skipWhileUnanswered('b', () => t, board);
  let calls = 0;
  const dead = () => {
    calls++;
    throw new GRPCUnavailableError('connect ECONNREFUSED');
  };
  await expect(a.execute(dead)).rejects.toThrow('ECONNREFUSED');
  // Only a is skipped: its calls fail at once, b stays to be tried.
  await expect(a.execute(dead)).rejects.toThrow(/unavailable: skipped/);
  expect(calls).toBe(1);
  await expect(b.execute(dead)).rejects.toThrow('ECONNREFUSED');
  // Both skipped: a call is let through, and once etcd answers the skipping ends.
  expect(await a.execute(() => 'ok')).toBe('ok');
  expect(board.until.has('a')).toBe(false);
  await expect(b.execute(dead)).rejects.toThrow(/unavailable: skipped/);
});
