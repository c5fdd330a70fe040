/**
 * Every workflow checks its whole input first, before any activity: wrong types, unknown keys,
 * strings for booleans, an unknown transfer mode. Then, once the spec is read, its groups and
 * members. Either fails the workflow at once (non-retryable BadConfig naming each field): a bad
 * input never gets better by retrying, and nothing has been changed yet.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { ErrorTypes } from '../common/error-types';
import { targetProblems, type InputTargets } from '../common/inputs/against-spec';
import { WORKFLOW_INPUT_SCHEMAS, inputProblems, type WorkflowInput, type WorkflowWithInput } from '../common/inputs';
import type { ClusterSpec } from '../common/spec';

function refuse(workflow: string, problems: string[]): never {
  throw ApplicationFailure.create({
    message: `invalid input of ${workflow}: ${problems.join('; ')}`,
    type: ErrorTypes.BadConfig,
    nonRetryable: true,
    details: [{ problems }],
  });
}

/** The input as the workflow's schema accepts it (typed), or a BadConfig failure naming every problem. */
export function checkedInput<W extends WorkflowWithInput>(workflow: W, input: unknown): WorkflowInput<W> {
  const problems = inputProblems(WORKFLOW_INPUT_SCHEMAS[workflow], input);
  if (problems.length) refuse(workflow, problems);
  return input as WorkflowInput<W>;
}

/** The input's groups and members exist in the cluster's spec (and `to`/`candidates` in the group). */
export function checkTargets(workflow: string, spec: ClusterSpec, targets: InputTargets): void {
  const problems = targetProblems(spec, targets);
  if (problems.length) refuse(workflow, problems);
}
