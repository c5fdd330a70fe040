/** Runs fn while holding the group's etcd lock, renewing its lease in the background. */
import { CancellationScope, isCancellation, sleep } from '@temporalio/workflow';
import type { ClusterSpec } from '../common/spec';
import { acts } from './activity-proxies';

const TTL_SECONDS = 30;

export async function withGroupLock<T>(spec: ClusterSpec, group: string, owner: string, fn: () => Promise<T>): Promise<T> {
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
  try {
    const result = await fn();
    if (lost) throw new Error(`lost the etcd lock of group ${group} while acting: ${String(lost)}`);
    return result;
  } finally {
    renewScope.cancel();
    await renewal;
    await CancellationScope.nonCancellable(() => acts.releaseGroupLock({ spec, group, owner }));
  }
}
