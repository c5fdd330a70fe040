/**
 * Every activity heartbeats while it runs, so a crashed worker's activity is retried after the
 * heartbeat timeout (seconds) rather than its start-to-close timeout (minutes).
 *
 * Often: every 250 ms here, and the worker sends one at least every 500 ms
 * (HEARTBEAT_SEND_INTERVAL in worker/run-worker.ts; without it the SDK would send only every 80 %
 * of the heartbeat timeout). So the 2-3 s heartbeat timeouts of the failover path
 * (workflows/activity-proxies.ts) fire only when the worker is gone or its event loop stalled for
 * well over a second.
 */
import { Context } from '@temporalio/activity';

export const HEARTBEAT_EVERY_MS = 250;

export async function withHeartbeat<T>(fn: () => Promise<T>, everyMs = HEARTBEAT_EVERY_MS): Promise<T> {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    return fn(); // called outside an activity (tests, CLI)
  }
  const timer = setInterval(() => ctx?.heartbeat(), everyMs);
  try {
    ctx.heartbeat();
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/** The waiting helpers live in lib (the Postgres adapter polls too); activities take them from here. */
export { pollUntil, sleep } from '../lib/poll';
