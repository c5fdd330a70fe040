/**
 * Start (or adopt) Citus's background rebalance and follow it to its end, as two progress steps:
 * `start` names the job, `moves` shows moves done of total, bytes and the move in flight. Shared by
 * rebalance, drain and setup's scale-out. The job id lives in workflow state, so a worker crash
 * only retries the follow, on the same job.
 *
 * A job that ends failed is started again, up to MAX_RESTARTS times: the moves already done stay,
 * the new job plans only what is left. (A move a failover broke is retried by Citus itself, by node
 * id, against the new primary: the job stays running.) A job someone cancelled (citus_rebalance_stop)
 * is not restarted: the workflow fails saying so. Cancelling the workflow cancels the job.
 */
import { ApplicationFailure, CancellationScope, isCancellation, sleep } from '@temporalio/workflow';
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

export async function followedRebalance(
  progress: ProgressTracker,
  steps: { start: string; moves: string },
  input: FollowedRebalanceInput,
): Promise<FollowedRebalanceResult> {
  const args = { spec: input.spec, drainOnly: input.drainOnly ?? false, transferMode: input.transferMode ?? 'auto' };
  const jobs: number[] = [];
  let final: RebalanceSnapshot | undefined;
  let restarts = 0;
  for (;;) {
    const started = await progress.run(
      steps.start,
      () => acts.startRebalance(args),
      (r) =>
        r.jobId === null
          ? 'nothing to move (balanced)'
          : `${r.adopted ? 'following running' : 'started'} job ` +
            `${r.jobId}${restarts ? ` (restart ${restarts} of ${MAX_RESTARTS})` : ''}`,
    );
    if (started.jobId === null) {
      if (!jobs.length) progress.skip(steps.moves, 'nothing to move');
      else progress.finish(steps.moves, final ? describeRebalance(final) : undefined);
      return { jobs, final, restarts };
    }
    jobs.push(started.jobId);
    progress.start(steps.moves);
    let snapshot: RebalanceSnapshot | undefined;
    try {
      do {
        snapshot = await following.followRebalance({
          spec: input.spec,
          jobId: started.jobId,
          ...(snapshot ? { previous: snapshot } : {}),
        });
        progress.note(steps.moves, describeRebalance(snapshot));
      } while (!['finished', 'failed', 'cancelled'].includes(snapshot.state));
    } catch (err) {
      // The workflow was cancelled (the UI, `citusctl down`): Citus's job stops with it.
      if (isCancellation(err))
        await CancellationScope.nonCancellable(() => acts.stopRebalance({ spec: input.spec, jobId: started.jobId! }));
      throw err;
    }
    final = snapshot;
    if (snapshot.state === 'finished') {
      progress.finish(steps.moves, describeRebalance(snapshot));
      return { jobs, final, restarts };
    }
    if (snapshot.state === 'cancelled' || restarts >= MAX_RESTARTS) {
      const why =
        snapshot.state === 'cancelled'
          ? `rebalance job ${snapshot.jobId} was cancelled in Citus (citus_rebalance_stop or citus_job_cancel); ` +
            'moves done stay done: citusctl rebalance continues'
          : `rebalance job ${snapshot.jobId} ${snapshot.state} after ${restarts} ` +
            `restarts${snapshot.errors.length ? `: ${snapshot.errors.join(' | ')}` : ''}`;
      progress.fail(steps.moves, why);
      throw ApplicationFailure.nonRetryable(why, ErrorTypes.RebalanceFailed, snapshot);
    }
    restarts++;
    progress.note(steps.moves, `${describeRebalance(snapshot)}; starting again in 5 s (${restarts}/${MAX_RESTARTS})`);
    await sleep('5s');
  }
}
