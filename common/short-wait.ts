/**
 * Waits up to this long run in a worker (activities/failover/short-wait.ts), not on a workflow timer:
 * Temporal fires a timer up to about a second late, small only beside longer waits. Pure: safe in workflows.
 */
export const SHORT_WAIT_MAX_MS = 5_000;
