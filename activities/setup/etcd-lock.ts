/**
 * A lease-bound lock per group in etcd, so two orchestrators (two Temporal deployments, a script)
 * never act on one group at once. The key vanishes with its lease if the holder dies.
 * The holder can tell that it lost the lock: renewal checks the TTL etcd answers (0 for an
 * expired lease, with no error) and that the key still names this owner and lease.
 * The etcd side is the cluster store's (lib/cluster-store.ts); here: waiting and classifying.
 */
import type { ClusterSpec } from '../../common/spec';
import type { LockHolder } from '../../lib/cluster-store';
import type { ActivityDeps } from '../deps';
import { fatal, notReady } from '../../lib/errors';
import { sleep, withHeartbeat } from '../heartbeat';
import { storeOf } from '../store';

export function createLockActivities(deps: ActivityDeps) {
  /**
   * Takes the lock, waiting up to waitMs (default 60 s) while another owner holds it.
   * Idempotent for the same owner (a retry gets the lease it already holds).
   */
  async function acquireGroupLock(input: {
    spec: ClusterSpec;
    group: string;
    owner: string;
    ttlSeconds: number;
    waitMs?: number;
  }): Promise<{ lease: string }> {
    const store = storeOf(deps, input.spec);
    const deadline = Date.now() + (input.waitMs ?? 60_000);
    return withHeartbeat(async () => {
      for (;;) {
        let holder: string;
        try {
          const attempt = await store.tryAcquireLock(input.group, input.owner, input.ttlSeconds);
          if (attempt.acquired) return { lease: attempt.lease };
          holder = attempt.holder;
        } catch (err) {
          throw notReady(`etcd lock for ${input.group}: ${(err as Error).message}`);
        }
        if (Date.now() > deadline)
          throw fatal(
            'Conflict',
            `group ${input.group} is locked by ${holder}; gave up after waiting ` +
              `${Math.round((input.waitMs ?? 60_000) / 1000)} s`,
          );
        await sleep(250);
      }
    });
  }

  /**
   * Renews the lease and checks the lock is still ours. Throws LockLost (non-retryable) when the
   * lease expired (TTL 0) or the key names someone else; a retryable error when etcd is unreachable.
   */
  async function renewGroupLock(input: {
    spec: ClusterSpec;
    group: string;
    owner: string;
    lease: string;
  }): Promise<{ ttl: number }> {
    // Two etcd calls, each with a 5 s deadline: together longer than the heartbeat timeout.
    return withHeartbeat(async () => {
      let ttl: number;
      let held: LockHolder | null;
      try {
        ({ ttl, holder: held } = await storeOf(deps, input.spec).renewLock(input.group, input.lease));
      } catch (err) {
        throw notReady(`renewing the lock of ${input.group}: ${(err as Error).message}`);
      }
      if (ttl <= 0)
        throw fatal('LockLost', `the lock of group ${input.group} expired (lease ${input.lease} answered TTL 0)`);
      if (held?.owner !== input.owner || held.lease !== input.lease) {
        throw fatal(
          'LockLost',
          `the lock of group ${input.group} is no longer ours: ${held ? `held by ${held.owner}` : 'the key is gone'}`,
        );
      }
      return { ttl };
    });
  }

  /** Deletes the key only if it is still ours, in one transaction; then revokes the lease. */
  async function releaseGroupLock(input: {
    spec: ClusterSpec;
    group: string;
    owner: string;
  }): Promise<{ released: boolean }> {
    return withHeartbeat(async () => {
      try {
        return { released: await storeOf(deps, input.spec).releaseLock(input.group, input.owner) };
      } catch (err) {
        throw notReady(`releasing the lock of ${input.group}: ${(err as Error).message}`);
      }
    });
  }

  return { acquireGroupLock, renewGroupLock, releaseGroupLock };
}
