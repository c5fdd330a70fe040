/**
 * Waits for a workflow's result while polling its progress query, and returns (or throws) only
 * once no query is in flight, so the caller may close the connection right after.
 *
 * Why: a query still in flight when the gRPC channel closes fails with a retryable status; the
 * SDK's retry interceptor then fires a timer that calls into the closed channel and throws
 * "Channel has been shut down" as an uncaught exception, ending the process with exit 1 after a
 * setup that succeeded. So: at most one query at a time (a loop, not an interval), each one
 * abortable; on completion the poller aborts the query in flight and awaits it, then makes one
 * last bounded, awaited query for the final progress.
 */
import type { Client } from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';

/** A query normally answers in milliseconds; the deadline bounds one nobody can answer (no worker). */
export const QUERY_DEADLINE_MS = 10_000;

/** `query` as FollowOptions wants it: cancelled when the signal aborts, bounded by a deadline. */
export function abortableQuery<P>(
  client: Client,
  handle: { query<R>(name: string): Promise<R> },
  name: string,
  deadlineMs = QUERY_DEADLINE_MS,
): (signal: AbortSignal) => Promise<P> {
  return (signal) =>
    client.withDeadline(Date.now() + deadlineMs, () => client.withAbortSignal(signal, () => handle.query<P>(name)));
}

export interface FollowOptions<T, P> {
  /** The workflow's result (e.g. handle.result()). */
  result: () => Promise<T>;
  /** One progress query. It must cancel its call and settle when signal aborts. */
  query: (signal: AbortSignal) => Promise<P>;
  onProgress: (p: P) => void;
  /** Pause between two queries (default 250 ms). */
  intervalMs?: number;
  /** Bound for the last query made after the result (default 5 s). */
  finalQueryTimeoutMs?: number;
  /**
   * The final progress carried by the result itself, if any: then no last query is made (a closed
   * workflow answers one only by replaying its whole history on a worker).
   */
  finalProgress?: (result: T) => P | undefined;
}

export interface Followed<T, P> {
  result: T;
  /** The last progress seen (the final one when the last query answered). */
  last: P | undefined;
}

export async function followWorkflow<T, P>(opts: FollowOptions<T, P>): Promise<Followed<T, P>> {
  let last: P | undefined;
  const take = (p: P) => {
    last = p;
    opts.onProgress(p);
  };
  const stop = new AbortController();
  const polling = pollUntilStopped(opts.query, take, opts.intervalMs ?? 250, stop.signal);
  let result: T;
  let final: P | undefined;
  try {
    result = await opts.result();
    final = opts.finalProgress?.(result);
  } finally {
    stop.abort();
    await polling; // the query in flight (if any) was cancelled and has settled
    // A closed workflow is answered by replaying its history: on a loaded machine that can take seconds.
    if (final !== undefined) take(final);
    else await boundedQuery(opts.query, take, opts.finalQueryTimeoutMs ?? QUERY_DEADLINE_MS);
  }
  return { result, last };
}

async function pollUntilStopped<P>(
  query: (signal: AbortSignal) => Promise<P>,
  take: (p: P) => void,
  intervalMs: number,
  stopped: AbortSignal,
): Promise<void> {
  while (!stopped.aborted) {
    // One signal per query: the SDK adds an abort listener per call and never removes it.
    const current = new AbortController();
    const abortCurrent = () => current.abort();
    stopped.addEventListener('abort', abortCurrent, { once: true });
    try {
      const p = await query(current.signal);
      if (!stopped.aborted) take(p);
    } catch {
      // Progress is best effort: a failed or cancelled query is simply tried again next round.
    } finally {
      stopped.removeEventListener('abort', abortCurrent);
    }
    if (stopped.aborted) return;
    await sleep(intervalMs, undefined, { signal: stopped }).catch(() => undefined);
  }
}

async function boundedQuery<P>(
  query: (signal: AbortSignal) => Promise<P>,
  take: (p: P) => void,
  timeoutMs: number,
): Promise<void> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), timeoutMs);
  try {
    take(await query(timeout.signal));
  } catch {
    // No final progress (no worker answering, or it took too long): the result stands on its own.
  } finally {
    clearTimeout(timer);
  }
}
