/** Runs fn while holding the group's etcd lock, renewing its lease in the background. */
import { ApplicationFailure, CancellationScope, isCancellation, sleep } from '@temporalio/workflow';
import type { ClusterSpec } from '../common/spec';
import { acts } from './activity-proxies';

const TTL_SECONDS = 30;

/** fn gets assertHeld(): call it before each change, so a lost lock stops the work, not just reports it. */
export async function withGroupLock<T>(spec: ClusterSpec, group: string, owner: string, fn: (assertHeld: () => Promise<void>) => Promise<T>): Promise<T> {
  const { lease } = await acts.acquireGroupLock({ spec, group, owner, ttlSeconds: TTL_SECONDS });
  const renewScope = new CancellationScope();
  let lost: unknown;
  const renewal = renewScope
    .run(async () => {
      for (;;) {
        await sleep(`${TTL_SECONDS / 3}s`);
        await acts.renewGroupLock({ spec, lease });
      }
    })
    .catch((err) => {
      if (!isCancellation(err)) lost = err; // reported after fn: never an unhandled rejection
    });
  const assertHeld = async () => {
    if (lost) throw ApplicationFailure.nonRetryable(`lost the etcd lock of group ${group}: ${String(lost)}`, 'LockLost');
  };
  try {
    const result = await fn(assertHeld);
    await assertHeld();
    return result;
  } finally {
    renewScope.cancel();
    await renewal;
    await CancellationScope.nonCancellable(() => acts.releaseGroupLock({ spec, group, owner }));
  }
}
