/**
 * The task queues, named in one place (pure: the monitor workflow derives its children's queue here).
 *
 * `citusctl` is the shared queue: every short-lived workflow (setup, failover, switchover, rejoin,
 * drain, health...) and its activities, polled by every worker of every build, the CLI's in-process
 * one included. Those workflows are guarded across builds the usual way (replay tests, patches).
 *
 * The monitor runs for ever, so it never replays on another build: it runs on its build's own queue,
 * `citusctl-monitor-<build>` (build = a hash of the workflow bundle), which only long-lived workers
 * of that build poll, together with its own activities (the probe's result is read by the same
 * build's decisions). A worker of a new build moves it over (lib/monitor-handoff.ts).
 *
 * With several Docker hosts each host has its own queue, `citusctl-host-<host>`, for the Docker work on
 * that host (only its worker holds a client for its engine); a spec without hosts never uses one.
 */
import { resolveHosts } from './hosts';
import { placeCluster, type PlacementInput } from './placement';

export const TASK_QUEUE = 'citusctl';

const MONITOR_INFIX = '-monitor-';

/** The monitor's queue for one build of the workflow bundle. */
export function monitorTaskQueue(build: string, shared = TASK_QUEUE): string {
  if (!/^[A-Za-z0-9_]+$/.test(build))
    throw new Error(`invalid build id ${JSON.stringify(build)}: letters, digits and _ only`);
  return `${shared}${MONITOR_INFIX}${build}`;
}

/** The build a monitor queue belongs to; undefined for any other queue. */
export function buildOfMonitorQueue(queue: string): string | undefined {
  const i = queue.lastIndexOf(MONITOR_INFIX);
  const build = i > 0 ? queue.slice(i + MONITOR_INFIX.length) : '';
  return /^[A-Za-z0-9_]+$/.test(build) ? build : undefined;
}

/**
 * The shared queue beside a monitor queue (`citusctl-monitor-abc` -> `citusctl`), where the monitor
 * starts its failovers and rejoins so that one in flight never depends on one build's worker. A
 * monitor started on any other queue (a test's) keeps its children on that queue.
 */
export function sharedQueueOf(queue: string): string {
  return buildOfMonitorQueue(queue) === undefined ? queue : queue.slice(0, queue.lastIndexOf(MONITOR_INFIX));
}

const HOST_INFIX = '-host-';

/**
 * A host's own queue (the worker-specific task queue pattern): the activities that touch that host's
 * Docker engine, polled by the one `citusctl worker --host NAME` there, for every cluster of the host.
 */
export function hostTaskQueue(host: string, shared = TASK_QUEUE): string {
  if (!/^[a-z][a-z0-9-]*$/.test(host)) throw new Error(`invalid host name ${JSON.stringify(host)}`);
  return `${shared}${HOST_INFIX}${host}`;
}

/**
 * Where a member's Docker work runs: its host's queue when the spec has several hosts, else the
 * shared queue, exactly as before hosts existed.
 */
export function taskQueueForMember(spec: PlacementInput, member: string): string {
  if (resolveHosts(spec.hosts).length < 2) return TASK_QUEUE;
  const host = placeCluster(spec).members[member];
  if (!host) throw new Error(`unknown member ${member}`);
  return hostTaskQueue(host);
}
