/** Activity proxies with the retry policies and timeouts every runbook shares. */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const retry = { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 30 };

/** Ordinary steps: heartbeats every second, so a dead worker's step is retried after 10 s. */
export const acts = proxyActivities<Activities>({ startToCloseTimeout: '5m', heartbeatTimeout: '10s', retry });
/** Validation: bad input does not get better by retrying. */
export const validation = proxyActivities<Activities>({ startToCloseTimeout: '30s', retry: { ...retry, maximumAttempts: 3 } });
/** Data loads and base backups. */
export const longRunning = proxyActivities<Activities>({ startToCloseTimeout: '60m', heartbeatTimeout: '15s', retry });
/** Failover's time-critical steps: retried fast, a handful of times. */
export const critical = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  heartbeatTimeout: '5s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '2s', maximumAttempts: 10 },
});
/** Releasing a lock: a few quick tries (the lease expires by itself if etcd stays away). */
export const lockRelease = proxyActivities<Activities>({ startToCloseTimeout: '10s', retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '2s', maximumAttempts: 5 } });
