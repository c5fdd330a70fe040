/** Test-only workflows for input-validation.test.ts: workflow code that throws, as a bug would. */
import { InvariantError } from '../../common/workflow-failure';

/** Reads a property of a missing input: a TypeError in workflow code. */
export async function readsMissingInput(input: { options: { clean: boolean } }): Promise<boolean> {
  return input.options.clean;
}

/** A broken assumption in pure code the workflows run. */
export async function breaksAnInvariant(): Promise<void> {
  throw new InvariantError('not an LSN: banana');
}

/** A plain Error: left to Temporal's default (the workflow task is retried), as a non-determinism error is. */
export async function throwsPlainError(): Promise<void> {
  throw new Error('plain error from workflow code');
}
