/**
 * Cancellation reaches a step: withHeartbeat ends as cancelled at once (not when its work ends),
 * the activities' sleep and pollUntil stop waiting, and the lib poll loop honours a signal.
 */
import { describe, expect, test } from '@jest/globals';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { cancellable, pollUntil, sleep, withHeartbeat } from '../../activities/heartbeat';
import { pollUntil as libPollUntil, sleep as libSleep } from '../../lib/poll';

/** Runs fn as an activity and cancels it after ms; resolves with what it threw and how long it took. */
async function cancelledAfter(ms: number, fn: () => Promise<unknown>): Promise<{ err: unknown; tookMs: number }> {
  const env = new MockActivityEnvironment();
  const started = Date.now();
  const timer = setTimeout(() => env.cancel(), ms);
  try {
    await env.run(fn);
    return { err: undefined, tookMs: Date.now() - started };
  } catch (err) {
    return { err, tookMs: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

describe('withHeartbeat', () => {
  test('ends as cancelled while its work still runs, and hands the work the signal', async () => {
    let seen: AbortSignal | undefined;
    let workEnded = false;
    const r = await cancelledAfter(50, () =>
      withHeartbeat(async (signal) => {
        seen = signal;
        await new Promise((resolve) => setTimeout(resolve, 2_000).unref()); // work that ignores the signal
        workEnded = true;
      }),
    );
    expect(r.err).toBeInstanceOf(CancelledFailure);
    expect(workEnded).toBe(false);
    expect(seen?.aborted).toBe(true);
  });

  test('a failure wrapped around the abort is still reported as the cancellation', async () => {
    const r = await cancelledAfter(50, () =>
      cancellable(async (signal) => {
        await new Promise((resolve) => signal?.addEventListener('abort', resolve));
        throw new Error('connection terminated'); // what a classified pg error would look like
      }),
    );
    expect(r.err).toBeInstanceOf(CancelledFailure);
  });

  test('returns the work result when nothing cancels it', async () => {
    const env = new MockActivityEnvironment();
    await expect(env.run(() => withHeartbeat(async () => 42, 10))).resolves.toBe(42);
  });

  test('outside an activity it just runs the work', async () => {
    await expect(withHeartbeat(async (signal) => signal === undefined)).resolves.toBe(true);
  });
});

describe("an activity's waits", () => {
  test('sleep stops when the activity is cancelled', async () => {
    const r = await cancelledAfter(50, () => sleep(10_000));
    expect(r.err).toBeInstanceOf(CancelledFailure);
  });

  test('pollUntil stops polling when the activity is cancelled', async () => {
    let polls = 0;
    const r = await cancelledAfter(100, () => pollUntil(async () => void polls++, 60_000, 20));
    expect(r.err).toBeInstanceOf(CancelledFailure);
    const after = polls;
    await libSleep(100);
    expect(polls).toBe(after);
  });
});

describe('lib/poll with a signal', () => {
  test('sleep rejects with the reason on abort, resolves without one', async () => {
    const ac = new AbortController();
    const waiting = libSleep(10_000, ac.signal);
    ac.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    await expect(libSleep(1, new AbortController().signal)).resolves.toBeUndefined();
  });

  test('pollUntil checks nothing once aborted, and still returns a value and times out', async () => {
    const ac = new AbortController();
    ac.abort(new Error('gone'));
    let polls = 0;
    await expect(libPollUntil(async () => void polls++, 1_000, 10, ac.signal)).rejects.toThrow('gone');
    expect(polls).toBe(0);
    let n = 0;
    await expect(
      libPollUntil(async () => (++n === 3 ? 'ok' : undefined), 1_000, 1, new AbortController().signal),
    ).resolves.toBe('ok');
    await expect(libPollUntil(async () => undefined, 20, 5)).rejects.toThrow('condition not met within 20 ms');
  });
});
