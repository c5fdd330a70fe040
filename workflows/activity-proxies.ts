/** Activity proxies with the retry policies and timeouts every runbook shares. */
import { ActivityCancellationType, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
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
        return summary && withOptions
          ? withOptions({ summary }, args)
          : (fn as (...a: unknown[]) => Promise<unknown>)(...args);
      };
      return Object.assign(call, { executeWithOptions: withOptions });
    },
  });
}

/**
 * A cancelled workflow (the UI's Cancel, `citusctl down`) closes only once its running steps have
 * stopped: the cancel reaches a step on a heartbeat's answer, and the step ends at once
 * (activities/heartbeat.ts). Temporal's default here is TRY_CANCEL (the SDK sends no type, the
 * server reads 0), which closes the workflow at once while its steps run on unseen.
 */
const stopsWithWorkflow = { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED };

/** Every activity option set of the workflows, by what the steps are; all heartbeat. */
export const ACTIVITY_OPTIONS = {
  /**
   * Ordinary steps (the group lock, etcd's record of the primary among them): a dead worker's step is retried after 3
   * s.
   */
  ordinary: { startToCloseTimeout: '5m', heartbeatTimeout: '3s', retry, ...stopsWithWorkflow },
  /**
   * Validation: bad input does not get better by retrying. The first step of every runbook: a dead worker's is retried
   * after 2 s.
   */
  validation: {
    startToCloseTimeout: '30s',
    heartbeatTimeout: '2s',
    retry: { ...retry, maximumAttempts: 3 },
    ...stopsWithWorkflow,
  },
  /** Data loads, base backups, image pulls and builds. */
  longRunning: { startToCloseTimeout: '60m', heartbeatTimeout: '15s', retry, ...stopsWithWorkflow },
  /**
   * Following a long job (a rebalance): each call returns within 30 s with news; a dead worker's call
   * is retried elsewhere 15 s after its last heartbeat and follows the same job.
   */
  following: {
    startToCloseTimeout: '2m',
    heartbeatTimeout: '15s',
    retry: { ...retry, maximumAttempts: 60 },
    ...stopsWithWorkflow,
  },
  /** Failover's time-critical steps: retried fast, a handful of times; a dead worker's step after 2 s. */
  critical: {
    startToCloseTimeout: '2m',
    heartbeatTimeout: '2s',
    retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '2s', maximumAttempts: 10 },
    ...stopsWithWorkflow,
  },
  /** Releasing a lock: a few quick tries (the lease expires by itself if etcd stays away). */
  lockRelease: {
    startToCloseTimeout: '10s',
    heartbeatTimeout: '2s',
    retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '2s', maximumAttempts: 5 },
    ...stopsWithWorkflow,
  },
  /** Best-effort lookups (is a search attribute registered): quick, and a failure only skips the nicety. */
  bestEffort: {
    startToCloseTimeout: '10s',
    heartbeatTimeout: '2s',
    retry: { initialInterval: '200ms', maximumAttempts: 2 },
    ...stopsWithWorkflow,
  },
  /**
   * The health check's observations only read: a few quick attempts; a part that does not answer is in the result, not
   * an error.
   */
  observe: {
    startToCloseTimeout: '2m',
    heartbeatTimeout: '15s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 3 },
    ...stopsWithWorkflow,
  },
  /** The monitor's probe. */
  probe: {
    startToCloseTimeout: '10m',
    heartbeatTimeout: '5s', // a dead worker's probe is retried elsewhere within seconds, resuming its history
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 5 },
    // The probe only reads: a cancel (an update woke the monitor, or `down` stops it) goes on at once
    // instead of waiting up to a heartbeat interval for the activity to acknowledge it.
    cancellationType: ActivityCancellationType.TRY_CANCEL,
  },
  /** The monitor's own small actions: a few quick attempts, then the next probe decides again. */
  monitorQuick: {
    startToCloseTimeout: '30s',
    heartbeatTimeout: '10s',
    retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 3 },
  },
} as const satisfies Record<string, ActivityOptions>;

export const acts = summarized(proxyActivities<Activities>(ACTIVITY_OPTIONS.ordinary));
export const validation = summarized(proxyActivities<Activities>(ACTIVITY_OPTIONS.validation));
export const longRunning = summarized(proxyActivities<Activities>(ACTIVITY_OPTIONS.longRunning));
export const following = summarized(proxyActivities<Activities>(ACTIVITY_OPTIONS.following));
export const critical = summarized(proxyActivities<Activities>(ACTIVITY_OPTIONS.critical));
export const lockRelease = summarized(proxyActivities<Activities>(ACTIVITY_OPTIONS.lockRelease));
export const bestEffort = summarized(proxyActivities<Activities>(ACTIVITY_OPTIONS.bestEffort));
export const observe = summarized(proxyActivities<Activities>(ACTIVITY_OPTIONS.observe));
/** The monitor's proxies carry no summaries (as recorded in its replayed history). */
export const probeActs = proxyActivities<Activities>(ACTIVITY_OPTIONS.probe);
export const monitorQuick = proxyActivities<Activities>(ACTIVITY_OPTIONS.monitorQuick);
