/**
 * Start (or adopt) Citus's background rebalance and follow it to its end, as two progress steps:
 * `start` names the job, `moves` shows moves done of total, bytes and the move in flight. Shared by
 * rebalance, drain and setup's scale-out. The job id lives in workflow state, so a worker crash
 * only retries the follow, on the same job.
 *
 * A job that ends failed or cancelled (a failover of a source or target group cancels the move
 * Citus was making) is started again, up to MAX_RESTARTS times: the moves already done stay, the
 * new job plans only what is left.
 */
import { ApplicationFailure, sleep } from '@temporalio/workflow';
import { ErrorTypes } from '../common/error-types';
import type { ProgressTracker } from '../common/progress';
import { describeRebalance, type RebalanceSnapshot, type TransferMode } from '../common/rebalance';
import type { ClusterSpec } from '../common/spec';
import { acts, following } from './activity-proxies';

export const MAX_RESTARTS = 3;

export interface FollowedRebalanceInput {
  spec: ClusterSpec;
  drainOnly?: boolean;
  transferMode?: TransferMode;
}

export interface FollowedRebalanceResult {
  /** Every job followed (more than one only after a restart); empty when Citus found nothing to move. */
  jobs: number[];
  final?: RebalanceSnapshot;
  restarts: number;
}

export async function followedRebalance(progress: ProgressTracker, steps: { start: string; moves: string }, input: FollowedRebalanceInput): Promise<FollowedRebalanceResult> {
  const args = { spec: input.spec, drainOnly: input.drainOnly ?? false, transferMode: input.transferMode ?? 'auto' };
  const jobs: number[] = [];
  let final: RebalanceSnapshot | undefined;
  let restarts = 0;
  for (;;) {
    const started = await progress.run(steps.start, () => acts.startRebalance(args), (r) =>
      r.jobId === null ? 'nothing to move (balanced)' : `${r.adopted ? 'following running' : 'started'} job ${r.jobId}${restarts ? ` (restart ${restarts} of ${MAX_RESTARTS})` : ''}`,
    );
    if (started.jobId === null) {
      if (!jobs.length) progress.skip(steps.moves, 'nothing to move');
      else progress.finish(steps.moves, final ? describeRebalance(final) : undefined);
      return { jobs, final, restarts };
    }
    jobs.push(started.jobId);
    progress.start(steps.moves);
    let snapshot: RebalanceSnapshot | undefined;
    do {
      snapshot = await following.followRebalance({ spec: input.spec, jobId: started.jobId, ...(snapshot ? { previous: snapshot } : {}) });
      progress.note(steps.moves, describeRebalance(snapshot));
    } while (!['finished', 'failed', 'cancelled'].includes(snapshot.state));
    final = snapshot;
    if (snapshot.state === 'finished') {
      progress.finish(steps.moves, describeRebalance(snapshot));
      return { jobs, final, restarts };
    }
    if (restarts >= MAX_RESTARTS) {
      const why = `rebalance job ${snapshot.jobId} ${snapshot.state} after ${restarts} restarts${snapshot.errors.length ? `: ${snapshot.errors.join(' | ')}` : ''}`;
      progress.fail(steps.moves, why);
      throw ApplicationFailure.nonRetryable(why, ErrorTypes.RebalanceFailed, snapshot);
    }
    restarts++;
    progress.note(steps.moves, `${describeRebalance(snapshot)}; starting again in 5 s (${restarts}/${MAX_RESTARTS})`);
    await sleep('5s');
  }
}
