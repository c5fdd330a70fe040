/**
 * Moving a running monitor onto another build's task queue (common/task-queues.ts): what to do,
 * decided from what Temporal says about the monitor and the two queues' pollers. Pure.
 */

/** The monitor's Update asking it to continue as new on another queue (workflows/monitor-signals.ts). */
export const HAND_OFF_UPDATE = 'handOff';

export interface HandOffInput {
  /** The monitor queue of the build taking over. */
  taskQueue: string;
}

export interface HandOffAnswer {
  from: string;
  to: string;
}

export type HandOffAction =
  /** No monitor runs and none is asked for. */
  | 'none'
  /** None runs: start one on the target queue. */
  | 'start'
  /** It already runs on the target queue. */
  | 'keep'
  /** Its build still has a worker: ask it to continue as new on the target queue. */
  | 'move'
  /** Nobody runs its build any more: terminate that run and start a new one on the target queue. */
  | 'restart'
  /** No worker polls the target queue but one polls the monitor's: moving it would stop healing. */
  | 'leave';

export interface HandOffFacts {
  /** The monitor's run: absent when none is running. */
  running?: { taskQueue: string };
  target: string;
  /** A live worker polls the target queue (the caller is that worker, or it was seen polling). */
  targetPolled: boolean;
  /** A live worker polls the monitor's current queue. */
  currentPolled: boolean;
  /** Start a monitor when none runs (`up`), or only move running ones (a worker starting). */
  startIfMissing: boolean;
}

export function decideHandOff(f: HandOffFacts): HandOffAction {
  if (!f.running) return f.startIfMissing ? 'start' : 'none';
  if (f.running.taskQueue === f.target) return 'keep';
  if (!f.targetPolled && f.currentPolled) return 'leave';
  return f.currentPolled ? 'move' : 'restart';
}

/**
 * A poller counts as live when it polled within this window: a worker's long poll is renewed at
 * least every minute, while Temporal keeps listing a dead worker's poller for minutes.
 */
export const POLLER_FRESH_MS = 75_000;

export interface PollerSeen {
  identity?: string;
  lastAccessMs?: number;
}

/**
 * Live pollers: fresh, and not a citusctl worker of this host whose process is gone (a worker just
 * stopped by an upgrade still looks fresh for up to a minute). `pidAlive` answers for this host.
 */
export function livePollers(pollers: PollerSeen[], now: number, pidAlive: (pid: number) => boolean): PollerSeen[] {
  return pollers.filter((p) => {
    if (p.lastAccessMs === undefined || now - p.lastAccessMs > POLLER_FRESH_MS) return false;
    const pid = /^citusctl-worker@(\d+)$/.exec(p.identity ?? '')?.[1];
    return pid === undefined || pidAlive(Number(pid));
  });
}

/** Why an old run is terminated, in its history. */
export const restartReason = (build: string) =>
  `citusctl upgraded to build ${build}: the monitor restarts on it; its state is in etcd`;
