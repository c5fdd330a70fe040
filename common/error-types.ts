/**
 * ApplicationFailure type names, shared by activities (which throw them) and workflows (which
 * throw and match them). Pure: safe in workflows.
 */
export const ErrorTypes = {
  BadConfig: 'BadConfig',
  Auth: 'AuthFailure',
  ImageIncapable: 'ImageIncapable',
  Conflict: 'ResourceConflict',
  Refused: 'Refused',
  NotReady: 'NotReady',
  Invariant: 'InvariantViolated',
  /** The group's etcd lock expired or is held by someone else: stop before the next change. */
  LockLost: 'LockLost',
  /** No standby can be promoted; nothing was changed. */
  NoCandidate: 'NoCandidate',
  RejoinFailed: 'RejoinFailed',
  /** A required container image is neither present, nor pullable, nor buildable here. */
  ImageMissing: 'ImageMissing',
  /** Citus's rebalance job failed (its tasks' errors in the message) and restarting it did not help. */
  RebalanceFailed: 'RebalanceFailed',
  /** A workflow named a cluster this worker's state directory has no stored spec for. */
  UnknownCluster: 'UnknownCluster',
  /** A backup restored into a scratch cluster did not hold what its restore point recorded (recorded, not retried). */
  VerificationFailed: 'VerificationFailed',
  /** Retryable: the worker process running the step died (its supervisor says so); the step runs again on another. */
  WorkerLost: 'WorkerLost',
} as const;

export type ErrorType = keyof typeof ErrorTypes;
