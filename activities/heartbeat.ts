/**
 * Every activity heartbeats while it runs, so a crashed worker's activity is retried after the
 * heartbeat timeout (seconds) rather than its start-to-close timeout (minutes).
 *
 * Often: every 250 ms here, and the worker sends one at least every 500 ms
 * (HEARTBEAT_SEND_INTERVAL in worker/run-worker.ts; without it the SDK would send only every 80 %
 * of the heartbeat timeout). So the 2-3 s heartbeat timeouts of the failover path
 * (workflows/activity-proxies.ts) fire only when the worker is gone or its event loop stalled for
 * well over a second.
 *
 * Cancellation comes back on a heartbeat's answer (the workflow was cancelled: the UI's Cancel,
 * `citusctl down`): the step then ends at once as cancelled, its waits (sleep, pollUntil below)
 * stop, and work that takes the signal (a COPY, a pull) is aborted. Every step checks before it
 * acts, so whatever a cancelled step left is finished by a rerun.
 */
import { Context } from '@temporalio/activity';
import { pollUntil as pollUntilSignalled, sleep as sleepSignalled } from '../lib/poll';

export const HEARTBEAT_EVERY_MS = 250;

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity (tests, CLI)
  }
}

/** The running activity's cancellation; undefined outside an activity. */
export function cancellationSignal(): AbortSignal | undefined {
  return activityContext()?.cancellationSignal;
}

/**
 * Runs fn until it settles or the activity is cancelled, whichever comes first: a cancelled
 * activity reports cancelled (not a failure wrapped around an abort) without waiting for fn, whose
 * later outcome is dropped. For activities that heartbeat themselves (with progress details).
 */
export async function cancellable<T>(fn: (signal?: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = activityContext();
  if (!ctx) return fn(undefined);
  const work = fn(ctx.cancellationSignal);
  work.catch(() => undefined); // settled after a cancel: nobody waits for it any more
  return Promise.race([work, ctx.cancelled]);
}

/** Heartbeats every everyMs while fn runs; ends at once when the activity is cancelled (fn gets the signal). */
export async function withHeartbeat<T>(
  fn: (signal?: AbortSignal) => Promise<T>,
  everyMs = HEARTBEAT_EVERY_MS,
): Promise<T> {
  const ctx = activityContext();
  if (!ctx) return fn(undefined);
  const timer = setInterval(() => ctx.heartbeat(), everyMs);
  try {
    ctx.heartbeat();
    return await cancellable(fn);
  } finally {
    clearInterval(timer);
  }
}

/** sleep that ends (rejects) when the running activity is cancelled. */
export function sleep(ms: number): Promise<void> {
  return sleepSignalled(ms, cancellationSignal());
}

/** pollUntil (lib/poll) that stops when the running activity is cancelled. */
export function pollUntil<T>(check: () => Promise<T | undefined>, timeoutMs: number, intervalMs?: number): Promise<T> {
  return pollUntilSignalled(check, timeoutMs, intervalMs, cancellationSignal());
}
