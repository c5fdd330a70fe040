/** Lease round trips etcd3's Lease object does not offer for a lease id it did not grant itself. */
import type { Etcd3 } from 'etcd3';

/** One LeaseKeepAlive round trip: the TTL etcd answers (0 for an expired lease, with no error). */
export async function keepAliveOnce(etcd: Etcd3, lease: string): Promise<number> {
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

export async function grantLease(etcd: Etcd3, ttlSeconds: number): Promise<string> {
  return etcd.lease(ttlSeconds, { autoKeepAlive: false }).grant();
}

/** Best effort: an unknown or expired lease is already gone. */
export async function revokeLease(etcd: Etcd3, lease: string): Promise<void> {
  await etcd.leaseClient.leaseRevoke({ ID: lease }).catch(() => undefined);
}
