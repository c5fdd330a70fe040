/** Activity proxies with the retry policies and timeouts every runbook shares. */
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { activitySummary } from '../common/activity-summaries';

/**
 * Heartbeat timeouts: a worker that dies mid-step is noticed by its supervisor, which hands the step
 * back at once (worker/reap.ts); these timeouts are the backstop when nobody can tell (a hung worker,
 * one without a supervisor). Activities heartbeat every 250 ms and the worker sends a heartbeat at
 * least every 500 ms (common/takeover.ts), so 2-3 s fire only for a worker gone or stalled well over
 * a second; a false one retries the step while the first attempt may still run, which every step
 * allows (each checks before it acts, and the acting ones are safe to run twice at once).
 */
const retry = { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 30 };

type WithOptions = { executeWithOptions?: (options: ActivityOptions, args: unknown[]) => Promise<unknown> };

/**
 * Every call through the proxy carries a one-line summary (Temporal user metadata: "promote g1-b")
 * that the UI shows in the event history. Metadata is not part of a command's identity, so a
 * history recorded without summaries still replays.
 */
export function summarized<A extends object>(proxy: A): A {
  return new Proxy(proxy, {
    get(target, prop, receiver) {
      const fn = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || typeof fn !== 'function') return fn;
      const withOptions = (fn as WithOptions).executeWithOptions;
      const call = (...args: unknown[]) => {
        const summary = activitySummary(prop, args[0]);
        return summary && withOptions ? withOptions({ summary }, args) : (fn as (...a: unknown[]) => Promise<unknown>)(...args);
      };
      return Object.assign(call, { executeWithOptions: withOptions });
    },
  });
}

/**
 * Ordinary steps (the group lock, etcd's record of the primary among them): a dead worker's step is retried after 3 s.
 */
export const acts = summarized(proxyActivities<Activities>({ startToCloseTimeout: '5m', heartbeatTimeout: '3s', retry }));
/**
 * Validation: bad input does not get better by retrying. The first
 * step of every runbook: a dead worker's is retried after 2 s.
 */
export const validation = summarized(proxyActivities<Activities>({ startToCloseTimeout: '30s', heartbeatTimeout: '2s', retry: { ...retry, maximumAttempts: 3 } }));
/** Data loads, base backups, image pulls and builds. */
export const longRunning = summarized(proxyActivities<Activities>({ startToCloseTimeout: '60m', heartbeatTimeout: '15s', retry }));
/**
 * Following a long job (a rebalance): each call returns within 30 s with news; a dead worker's call
 * is retried elsewhere 15 s after its last heartbeat and follows the same job.
 */
export const following = summarized(proxyActivities<Activities>({ startToCloseTimeout: '2m', heartbeatTimeout: '15s', retry: { ...retry, maximumAttempts: 60 } }));
/** Failover's time-critical steps: retried fast, a handful of times; a dead worker's step after 2 s. */
export const critical = summarized(
  proxyActivities<Activities>({
    startToCloseTimeout: '2m',
    heartbeatTimeout: '2s',
    retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '2s', maximumAttempts: 10 },
  }),
);
/** Releasing a lock: a few quick tries (the lease expires by itself if etcd stays away). */
export const lockRelease = summarized(proxyActivities<Activities>({ startToCloseTimeout: '10s', heartbeatTimeout: '2s', retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '2s', maximumAttempts: 5 } }));
/** Best-effort lookups (is a search attribute registered): quick, and a failure only skips the nicety. */
export const bestEffort = summarized(proxyActivities<Activities>({ startToCloseTimeout: '10s', heartbeatTimeout: '2s', retry: { initialInterval: '200ms', maximumAttempts: 2 } }));
