/**
 * Where a step that touches a container runs. With one host, on the shared queue, exactly as before
 * hosts existed. With several, on the queue of the host that holds the container
 * (`citusctl-host-<h>`), served by that host's worker (`citusctl worker --host`), whose Docker client
 * is that host's engine: the worker-specific task queue pattern. Steps that only speak SQL or etcd
 * stay on the shared queue (they reach members at their hosts' addresses).
 */
import { ActivityFailure, TimeoutFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { hostOfContainer, isMultiHost } from '../common/addressing';
import { resolveHosts } from '../common/hosts';
import type { ClusterSpec } from '../common/spec';
import { hostTaskQueue } from '../common/task-queues';
import { ACTIVITY_OPTIONS, acts, critical, longRunning, monitorQuick, summarized } from './activity-proxies';

export interface HostProxies {
  acts: typeof acts;
  longRunning: typeof longRunning;
  critical: typeof critical;
}

/**
 * A host-queue step no worker takes within this long fails (TimeoutFailure SCHEDULE_TO_START, never
 * retried): the host, or its worker, does not answer. A live worker takes a step within milliseconds.
 */
export const HOST_SCHEDULE_TO_START = '3s';

/** The proxies of one host's queue. */
export function onHost(host: string): HostProxies {
  const taskQueue = hostTaskQueue(host);
  const on = (options: (typeof ACTIVITY_OPTIONS)['ordinary' | 'longRunning' | 'critical']) =>
    summarized(proxyActivities<Activities>({ ...options, taskQueue, scheduleToStartTimeout: HOST_SCHEDULE_TO_START }));
  return {
    acts: on(ACTIVITY_OPTIONS.ordinary),
    longRunning: on(ACTIVITY_OPTIONS.longRunning),
    critical: on(ACTIVITY_OPTIONS.critical),
  };
}

/** The proxies for a step on one container (a member, `pgbouncer`, `etcd`): its host's with several hosts. */
export function forContainer(spec: ClusterSpec, member: string): HostProxies {
  return isMultiHost(spec) ? onHost(hostOfContainer(spec, member).name) : { acts, longRunning, critical };
}

/**
 * The monitor's small actions on a member's container (a restart): on its host's queue with several
 * hosts, else the monitor's own proxies; no summaries, as the monitor's proxies carry none.
 */
export function monitorQuickFor(spec: ClusterSpec, member: string): typeof monitorQuick {
  if (!isMultiHost(spec)) return monitorQuick;
  const taskQueue = hostTaskQueue(hostOfContainer(spec, member).name);
  return proxyActivities<Activities>({
    ...ACTIVITY_OPTIONS.monitorQuick,
    taskQueue,
    scheduleToStartTimeout: HOST_SCHEDULE_TO_START,
  });
}

/** A host-queue step that no worker took in time: its host does not answer. */
export function neverStarted(err: unknown): boolean {
  return (
    err instanceof ActivityFailure &&
    err.cause instanceof TimeoutFailure &&
    err.cause.timeoutType === 'SCHEDULE_TO_START'
  );
}

/** The hosts a step that works host by host runs on; none with one host (the step runs once, on the shared queue). */
export function hostsToVisit(spec: ClusterSpec): string[] {
  return isMultiHost(spec) ? resolveHosts(spec.hosts).map((h) => h.name) : [];
}
