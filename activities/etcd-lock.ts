/**
 * A lease-bound lock per group in etcd, so two orchestrators (two Temporal deployments, a script)
 * never act on one group at once. The key vanishes with its lease if the holder dies.
 */
import type { ClusterSpec } from '../common/spec';
import { etcdPrefix } from '../common/topology';
import type { ActivityDeps } from './deps';
import { fatal, notReady } from './errors';

export const lockKey = (cluster: string, group: string) => `${etcdPrefix(cluster)}/locks/${group}`;

interface LockValue {
  owner: string;
  lease: string;
}

export function createLockActivities(deps: ActivityDeps) {
  /** Idempotent for the same owner (a retry gets the lease it already holds). */
  async function acquireGroupLock(input: { spec: ClusterSpec; group: string; owner: string; ttlSeconds: number }): Promise<{ lease: string }> {
    const etcd = deps.etcd.client(input.spec.etcd.port);
    const key = lockKey(input.spec.name, input.group);
    try {
      const current = await etcd.get(key).string();
      if (current) {
        const held = JSON.parse(current) as LockValue;
        if (held.owner === input.owner) return { lease: held.lease };
        throw fatal('Conflict', `group ${input.group} is locked by ${held.owner}`);
      }
      const lease = etcd.lease(input.ttlSeconds, { autoKeepAlive: false });
      const id = await lease.grant();
      const value: LockValue = { owner: input.owner, lease: id };
      const r = await etcd.if(key, 'Create', '==', 0).then(etcd.put(key).value(JSON.stringify(value)).lease(id)).commit();
      if (!r.succeeded) throw notReady(`group ${input.group}: lock taken concurrently; retrying`);
      return { lease: id };
    } catch (err) {
      if ((err as { type?: string }).type) throw err;
      throw notReady(`etcd lock for ${input.group}: ${(err as Error).message}`);
    }
  }

  async function renewGroupLock(input: { spec: ClusterSpec; lease: string }): Promise<void> {
    const etcd = deps.etcd.client(input.spec.etcd.port);
    // LeaseKeepAlive for an existing lease id (the high-level Lease object only renews leases it granted).
    await etcd.leaseClient.leaseKeepAlive().then(
      (stream) =>
        new Promise<void>((resolve, reject) => {
          stream.on('data', () => {
            stream.end();
            resolve();
          });
          stream.on('error', reject);
          stream.write({ ID: input.lease });
        }),
    );
  }

  async function releaseGroupLock(input: { spec: ClusterSpec; group: string; owner: string }): Promise<void> {
    const etcd = deps.etcd.client(input.spec.etcd.port);
    const key = lockKey(input.spec.name, input.group);
    const current = await etcd.get(key).string();
    if (!current) return;
    const held = JSON.parse(current) as LockValue;
    if (held.owner !== input.owner) return;
    await etcd.leaseClient.leaseRevoke({ ID: held.lease }).catch(() => undefined);
    await etcd.delete().key(key);
  }

  return { acquireGroupLock, renewGroupLock, releaseGroupLock };
}
