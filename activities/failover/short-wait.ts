/**
 * shortWait: a wait of under a few seconds, in a worker rather than on a workflow timer. Temporal's
 * server fires a timer up to about a second late (a 100 ms `sleep` measured 0.9-1 s on the dev
 * server: test/workflow/short-wait.test.ts), which the failover's sub-second waits for a lost
 * host's self-fence cannot afford; a worker's timer is exact. It only waits: a retry (its worker
 * died) waits the whole time again, which is never too short.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { ErrorTypes } from '../../common/error-types';
import { SHORT_WAIT_MAX_MS } from '../../common/short-wait';
import { sleep } from '../../lib/poll';
import { withHeartbeat } from '../heartbeat';

export function createShortWaitActivities() {
  async function shortWait(input: { ms: number }): Promise<void> {
    const ms = input?.ms;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > SHORT_WAIT_MAX_MS)
      throw ApplicationFailure.nonRetryable(
        `shortWait: ms must be a number from 0 to ${SHORT_WAIT_MAX_MS}, got ${JSON.stringify(ms)}`,
        ErrorTypes.BadConfig,
      );
    await withHeartbeat((signal) => sleep(ms, signal));
  }
  return { shortWait };
}
