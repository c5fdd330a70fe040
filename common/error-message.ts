/**
 * The message to show for a failure a workflow caught: an activity's or child's failure wraps the
 * real error as its cause (ActivityFailure "activity failed" around the ApplicationFailure saying
 * why), so the cause's message when there is one.
 */
export const errorMessage = (err: unknown): string =>
  err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
