/**
 * A lease-bound lock per group in etcd, so two orchestrators (two Temporal deployments, a script)
 * never act on one group at once. The key vanishes with its lease if the holder dies.
 * The holder can tell that it lost the lock: renewal checks the TTL etcd answers (0 for an
 * expired lease, with no error) and that the key still names this owner and lease.
 */
import type { Etcd3 } from 'etcd3';
import type { ClusterSpec } from '../common/spec';
import { etcdPrefix } from '../common/topology';
import type { ActivityDeps } from './deps';
import { fatal, notReady } from './errors';
import { sleep, withHeartbeat } from './heartbeat';

export const lockKey = (cluster: string, group: string) => `${etcdPrefix(cluster)}/locks/${group}`;

interface LockValue {
  owner: string;
  lease: string;
}

/** One LeaseKeepAlive round trip for a lease id (etcd3's Lease object only renews leases it granted). */
async function keepAliveOnce(etcd: Etcd3, lease: string): Promise<number> {
  const stream = await etcd.leaseClient.leaseKeepAlive();
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.end();
      reject(new Error('lease keep-alive got no answer within 5 s'));
    }, 5000);
    stream.on('data', (res: { TTL?: string | number }) => {
      clearTimeout(timer);
      stream.end();
      resolve(Number(res.TTL ?? 0));
    });
    stream.on('error', (err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
    stream.write({ ID: lease });
  });
}

export function createLockActivities(deps: ActivityDeps) {
  /**
   * Takes the lock, waiting up to waitMs (default 60 s) while another owner holds it.
   * Idempotent for the same owner (a retry gets the lease it already holds).
   */
  async function acquireGroupLock(input: { spec: ClusterSpec; group: string; owner: string; ttlSeconds: number; waitMs?: number }): Promise<{ lease: string }> {
    const etcd = deps.etcd.client(input.spec);
    const key = lockKey(input.spec.name, input.group);
    const deadline = Date.now() + (input.waitMs ?? 60_000);
    return withHeartbeat(async () => {
      for (;;) {
        let holder: string;
        try {
          const current = await etcd.get(key).string();
          if (current) {
            const held = JSON.parse(current) as LockValue;
            if (held.owner === input.owner && (await keepAliveOnce(etcd, held.lease)) > 0) return { lease: held.lease };
            holder = held.owner;
          } else {
            const id = await etcd.lease(input.ttlSeconds, { autoKeepAlive: false }).grant();
            const value: LockValue = { owner: input.owner, lease: id };
            const r = await etcd.if(key, 'Create', '==', 0).then(etcd.put(key).value(JSON.stringify(value)).lease(id)).commit();
            if (r.succeeded) return { lease: id };
            await etcd.leaseClient.leaseRevoke({ ID: id }).catch(() => undefined);
            holder = 'a concurrent owner';
          }
        } catch (err) {
          throw notReady(`etcd lock for ${input.group}: ${(err as Error).message}`);
        }
        if (Date.now() > deadline) throw fatal('Conflict', `group ${input.group} is locked by ${holder}; gave up after waiting ${Math.round((input.waitMs ?? 60_000) / 1000)} s`);
        await sleep(250);
      }
    });
  }

  /**
   * Renews the lease and checks the lock is still ours. Throws LockLost (non-retryable) when the
   * lease expired (TTL 0) or the key names someone else; a retryable error when etcd is unreachable.
   */
  async function renewGroupLock(input: { spec: ClusterSpec; group: string; owner: string; lease: string }): Promise<{ ttl: number }> {
    const etcd = deps.etcd.client(input.spec);
    let ttl: number;
    let current: string | null;
    try {
      ttl = await keepAliveOnce(etcd, input.lease);
      current = await etcd.get(lockKey(input.spec.name, input.group)).string();
    } catch (err) {
      throw notReady(`renewing the lock of ${input.group}: ${(err as Error).message}`);
    }
    if (ttl <= 0) throw fatal('LockLost', `the lock of group ${input.group} expired (lease ${input.lease} answered TTL 0)`);
    const held = current ? (JSON.parse(current) as LockValue) : undefined;
    if (held?.owner !== input.owner || held.lease !== input.lease) {
      throw fatal('LockLost', `the lock of group ${input.group} is no longer ours: ${held ? `held by ${held.owner}` : 'the key is gone'}`);
    }
    return { ttl };
  }

  /** Deletes the key only if it is still ours, in one transaction; then revokes the lease. */
  async function releaseGroupLock(input: { spec: ClusterSpec; group: string; owner: string }): Promise<{ released: boolean }> {
    const etcd = deps.etcd.client(input.spec);
    const key = lockKey(input.spec.name, input.group);
    try {
      const current = await etcd.get(key).string();
      if (!current) return { released: false };
      const held = JSON.parse(current) as LockValue;
      if (held.owner !== input.owner) return { released: false };
      const r = await etcd.if(key, 'Value', '==', current).then(etcd.delete().key(key)).commit();
      await etcd.leaseClient.leaseRevoke({ ID: held.lease }).catch(() => undefined);
      return { released: r.succeeded };
    } catch (err) {
      throw notReady(`releasing the lock of ${input.group}: ${(err as Error).message}`);
    }
  }

  return { acquireGroupLock, renewGroupLock, releaseGroupLock };
}
