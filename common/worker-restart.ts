/**
 * The supervised worker's restart policy (worker/supervisor.ts runs two worker processes: one
 * polls, the other is started and loaded but waits, so that the death of the first costs no
 * restart). Pure, so it is unit-tested on its own.
 */

export const RESTART_POLICY = {
  /** A worker process that ran this long before it ended is replaced at once. */
  stableMs: 10_000,
  /** One that ended sooner: the first replacement waits this long, each further one twice as long... */
  firstDelayMs: 1_000,
  /** ...up to this. */
  maxDelayMs: 15_000,
  /**
   * After a takeover the new standby waits at least this long: loading it takes a CPU-second (several
   * on a busy machine), which the new active worker needs for the failover it is most likely
   * finishing right now. A second death within this window restarts a worker (the old way).
   */
  standbyAfterTakeoverMs: 10_000,
} as const;

export type WorkerRole = 'active' | 'standby';

/** What the supervisor knows when one of its worker processes ended. */
export interface WorkerExit {
  role: WorkerRole;
  /** How long it ran. */
  ranMs: number;
  /** The delay the previous replacement waited (0 at first). */
  previousDelayMs: number;
  /** A standby process exists (loaded or still loading). */
  standbyRunning: boolean;
}

export interface ExitPlan {
  /** The standby polls now: the active one died and a standby is there. */
  promoteStandby: boolean;
  /** Start a replacement, as this role, after startDelayMs. */
  startRole: WorkerRole;
  startDelayMs: number;
}

/**
 * How long to wait before starting a replacement: at once after a
 * worker that ran for a while, backing off while they keep dying young.
 */
export function restartDelayMs(ranMs: number, previousDelayMs: number): number {
  if (ranMs >= RESTART_POLICY.stableMs) return 0;
  return Math.min(Math.max(previousDelayMs * 2, RESTART_POLICY.firstDelayMs), RESTART_POLICY.maxDelayMs);
}

/**
 * The active worker died: the standby takes over at once (whatever the backoff: it is already
 * loaded) and a new standby is started after the delay (not sooner than standbyAfterTakeoverMs);
 * with no standby, a new active one is started after the delay.
 * A standby died: a new standby, after the delay.
 */
export function planAfterExit(exit: WorkerExit): ExitPlan {
  const startDelayMs = restartDelayMs(exit.ranMs, exit.previousDelayMs);
  if (exit.role === 'standby') return { promoteStandby: false, startRole: 'standby', startDelayMs };
  if (exit.standbyRunning)
    return {
      promoteStandby: true,
      startRole: 'standby',
      startDelayMs: Math.max(startDelayMs, RESTART_POLICY.standbyAfterTakeoverMs),
    };
  return { promoteStandby: false, startRole: 'active', startDelayMs };
}
