/** Runs fn while holding the group's etcd lock, renewing its lease in the background. */
import { ApplicationFailure, CancellationScope, isCancellation, sleep } from '@temporalio/workflow';
import { ErrorTypes } from '../common/error-types';
import type { ClusterSpec } from '../common/spec';
import { acts, lockRelease } from './activity-proxies';

export const DEFAULT_LOCK_TTL_SECONDS = 30;

export interface GroupLockOptions {
  /** Lease TTL (default 30 s); renewed every third of it. */
  ttlSeconds?: number;
  /** How long to wait while another owner holds the lock (default 60 s). */
  waitMs?: number;
}

const isLockLost = (err: unknown) => (err as { cause?: { type?: string } })?.cause?.type === ErrorTypes.LockLost;

/**
 * fn gets assertHeld(): call it right before each change. It renews the lease and checks that
 * the key still names this owner (a round trip to etcd), so a lock lost while the worker was
 * paused longer than the TTL stops the work before the change, not after.
 */
export async function withGroupLock<T>(
  spec: ClusterSpec,
  group: string,
  owner: string,
  fn: (assertHeld: () => Promise<void>) => Promise<T>,
  opts: GroupLockOptions = {},
): Promise<T> {
  const ttlSeconds = opts.ttlSeconds ?? DEFAULT_LOCK_TTL_SECONDS;
  const { lease } = await acts.acquireGroupLock({ spec, group, owner, ttlSeconds, waitMs: opts.waitMs });
  const renewScope = new CancellationScope();
  let lost: unknown;
  const renew = () => acts.renewGroupLock({ spec, group, owner, lease });
  const renewal = renewScope
    .run(async () => {
      for (;;) {
        await sleep(Math.max(1000, (ttlSeconds * 1000) / 3));
        await renew();
      }
    })
    .catch((err) => {
      if (!isCancellation(err)) lost = err; // reported by assertHeld: never an unhandled rejection
    });
  const assertHeld = async () => {
    if (!lost) {
      try {
        await renew();
      } catch (err) {
        lost = err;
      }
    }
    if (lost) {
      const why = isLockLost(lost) ? (lost as { cause: { message: string } }).cause.message : String(lost);
      throw ApplicationFailure.nonRetryable(`lost the etcd lock of group ${group}: ${why}`, ErrorTypes.LockLost);
    }
  };
  try {
    const result = await fn(assertHeld);
    return result;
  } finally {
    renewScope.cancel();
    await renewal;
    // Best effort: an unreachable etcd must not mask the outcome; the lease expires by itself.
    await CancellationScope.nonCancellable(() => lockRelease.releaseGroupLock({ spec, group, owner })).catch(
      () => undefined,
    );
  }
}
