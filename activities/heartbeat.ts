/**
 * Every activity heartbeats while it runs, so a crashed worker's activity is retried after the
 * heartbeat timeout (seconds) rather than its start-to-close timeout (minutes).
 */
import { Context } from '@temporalio/activity';

export async function withHeartbeat<T>(fn: () => Promise<T>, everyMs = 1000): Promise<T> {
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
