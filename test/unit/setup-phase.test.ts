import type { StepProgress, StepState } from '../../common/progress';
import { setupPastFirstSteps, setupStarted } from '../../common/setup-phase';

const steps = (states: Record<string, StepState>): StepProgress[] =>
  ['validate', 'images', 'provision', 'readiness'].map((name) => ({ name, state: states[name] ?? 'pending' }));

describe('setup phase from its progress', () => {
  test('nothing started: neither started nor past the first steps', () => {
    expect(setupStarted(steps({}))).toBe(false);
    expect(setupPastFirstSteps(steps({}))).toBe(false);
  });

  test('validate and images running or done: started, not yet creating', () => {
    expect(setupStarted(steps({ validate: 'running' }))).toBe(true);
    expect(setupPastFirstSteps(steps({ validate: 'running' }))).toBe(false);
    expect(setupPastFirstSteps(steps({ validate: 'done', images: 'running' }))).toBe(false);
    expect(setupPastFirstSteps(steps({ validate: 'done', images: 'skipped' }))).toBe(false);
  });

  test('a later step started, or a first one failed: past the first steps', () => {
    expect(setupPastFirstSteps(steps({ validate: 'done', images: 'done', provision: 'running' }))).toBe(true);
    expect(setupPastFirstSteps(steps({ validate: 'failed' }))).toBe(true);
  });
});
