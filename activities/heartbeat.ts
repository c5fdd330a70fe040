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

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls check() until it returns a value, or throws the last error after timeoutMs. */
export async function pollUntil<T>(check: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      if (lastError) throw lastError;
      throw new Error(`condition not met within ${timeoutMs} ms`);
    }
    await sleep(intervalMs);
  }
}
