/** Where a setup is, read from its progress (pure): what `up` decides on while it follows the setup. */
import type { StepProgress } from './progress';

/** The setup's steps before it creates anything (they run on the worker's main thread, CPU-bound). */
const BEFORE_CREATING: readonly string[] = ['validate', 'images'];

/** Some worker runs the setup: a step has started. */
export function setupStarted(steps: readonly StepProgress[]): boolean {
  return steps.some((s) => s.state !== 'pending');
}

/** The setup is past its first steps: it creates containers now (or has failed). */
export function setupPastFirstSteps(steps: readonly StepProgress[]): boolean {
  return steps.some((s) => s.state === 'failed' || (s.state !== 'pending' && !BEFORE_CREATING.includes(s.name)));
}
