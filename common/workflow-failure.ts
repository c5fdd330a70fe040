/**
 * What the worker does with an error thrown in workflow code. By default Temporal fails only the
 * workflow *task* and retries it for ever (it assumes a bug that a deploy will fix), which leaves
 * the workflow Running under its id (`failover-<cluster>-<group>`, `monitor-<cluster>`) that the
 * monitor and the CLI attach to, healing silently off. These error types fail the workflow
 * instead, visibly (worker option workflowFailureErrorTypes): JavaScript's own errors (a property
 * of undefined, a bad JSON) and the project's errors that pure code reachable from a workflow
 * throws. Not 'Error' itself: that would also fail a workflow on a non-determinism error, which an
 * upgrade must be able to repair by deploying the right build instead.
 */
export const WORKFLOW_FAILURE_ERROR_TYPES: readonly string[] = [
  'TypeError',
  'RangeError',
  'ReferenceError',
  'SyntaxError',
  'URIError',
  'EvalError',
  'AggregateError',
  'InvariantError',
  'SpecError',
  'InputError',
  'ZodError',
];

/** A broken assumption in pure code that workflows run: fails the workflow, never only its task. */
export class InvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantError';
  }
}
