/**
 * Waiting without Temporal: a sleep and a poll loop, shared by the adapters and the activities. An
 * optional AbortSignal (an activity's cancellation) ends either at once with the signal's reason.
 */

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (!signal) return new Promise((resolve) => setTimeout(resolve, ms));
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Polls check() until it returns a value, or throws the last error after timeoutMs (the signal's reason once it
 * aborts).
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 250,
  signal?: AbortSignal,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    signal?.throwIfAborted();
    if (Date.now() > deadline) {
      if (lastError) throw lastError;
      throw new Error(`condition not met within ${timeoutMs} ms`);
    }
    await sleep(intervalMs, signal);
  }
}
