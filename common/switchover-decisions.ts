/**
 * Pure decisions of a planned switchover (no I/O: unit-tested, safe anywhere).
 */
import type { MemberState } from './member-state';

/** The fence reason of one switchover run: the same on every attempt of its activity, unique to the run. */
export function switchoverFenceReason(workflowId: string, runId: string, target: string): string {
  return `fenced by switchover ${workflowId}/${runId}: ${target} takes over`;
}

export type CatchUpDecision =
  { action: 'wait'; lsn: string } | { action: 'skip'; why: string } | { action: 'retry'; why: string };

/**
 * Before fencing the old primary, the target must replay everything the old primary flushed. When
 * that position cannot be read, skipping the wait is safe only if an earlier attempt of this same
 * switchover already fenced and stopped the old primary (its shutdown sent the target all it will
 * ever get). Anything else (a slow or briefly unreachable primary, a fence by someone else) must
 * not be skipped silently: retry.
 */
export function catchUpDecision(input: {
  oldPrimary: string;
  flushLsn: string | undefined;
  readError?: string;
  oldContainerRunning: boolean;
  oldState: MemberState | null | undefined;
  /** This run's fence reason; undefined when the run is unknown (never skip then). */
  fenceReason: string | undefined;
}): CatchUpDecision {
  if (input.flushLsn) return { action: 'wait', lsn: input.flushLsn };
  const cannot = `cannot read ${input.oldPrimary}'s flush position${input.readError ? ` (${input.readError})` : ''}`;
  if (input.oldContainerRunning) return { action: 'retry', why: `${cannot} while its container runs` };
  const fencedByUs =
    input.fenceReason !== undefined &&
    input.oldState?.state === 'fenced' &&
    input.oldState.reason === input.fenceReason;
  if (fencedByUs)
    return {
      action: 'skip',
      why: `${input.oldPrimary} was fenced and stopped by an earlier attempt of this switchover`,
    };
  const old = input.oldState;
  const state = old ? `${old.state}${old.reason ? `, ${old.reason}` : ''}` : 'none';
  return { action: 'retry', why: `${cannot}, and it was not fenced by this switchover (state: ${state})` };
}
