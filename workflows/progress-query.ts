/** The one `progress` query every runbook answers (the CLI's progress printer and the tests ask it by name). */
import { defineQuery, setHandler } from '@temporalio/workflow';
import { ProgressTracker, type Progress } from '../common/progress';

export const progressQuery = defineQuery<Progress>('progress');

/** A tracker for the workflow's steps, answering the `progress` query from the start. */
export function trackProgress(workflow: string, steps: readonly string[]): ProgressTracker {
  const progress = new ProgressTracker(workflow, steps, () => Date.now());
  setHandler(progressQuery, () => progress.snapshot());
  return progress;
}
