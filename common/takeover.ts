/**
 * How soon another worker process takes over what a dead one was doing. Temporal learns that a
 * worker is gone only from timeouts; with the SDK's defaults a worker SIGKILLed mid-failover cost
 * 10 s (a workflow task in flight), 10 s more (a task queued for its cache: the sticky queue) or
 * 5-30 s (its running activity's heartbeat or start-to-close timeout). The supervisor, which sees its
 * worker die at once, hands the dead worker's running activities and sticky queues back to Temporal
 * (worker/reap.ts); these timeouts are what is left when nobody can tell (a hung worker, one without
 * a supervisor) and for the task that was in flight. Each is far above what the task needs on a
 * busy machine, and one that fires falsely only retries: every step checks before it acts.
 */

/**
 * One in flight on a dead worker is retried after this. A failover's longest workflow task took
 * 0.2-0.3 s at load 3-7 and up to 1.1 s at load 20-30 (its first task on a process that just took
 * over); one that outlasts this on a starved machine is only retried, while every kill of the worker
 * running a failover waits for it in full.
 */
export const WORKFLOW_TASK_TIMEOUT = '1s';

/**
 * A workflow task queued for a worker's cache moves to the shared queue when that worker has not taken it within this.
 */
export const STICKY_QUEUE_TIMEOUT = '1s';

/**
 * The worker sends an activity's heartbeat at least this often (the SDK's default sends only every
 * 80 % of the heartbeat timeout, leaving a fifth of it as margin); activities heartbeat every 250 ms
 * (activities/heartbeat.ts).
 */
export const HEARTBEAT_SEND_INTERVAL = '500ms';
