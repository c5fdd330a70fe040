/** Lease round trips etcd3's Lease object does not offer for a lease id it did not grant itself. */
import type { Etcd3 } from 'etcd3';

/** gRPC's UNAVAILABLE: the member the stream went to is down (the request never reached etcd). */
const UNAVAILABLE = 14;

/**
 * Stream attempts when members are down. etcd3 opens each stream on a member picked at random and
 * does not move on by itself (the unary calls' failover in lib/etcd-auth.ts does not cover streams):
 * with 2 of 5 members down, 8 picks all land on dead ones 0.07% of the time.
 */
const STREAM_ATTEMPTS = 8;

/** One LeaseKeepAlive round trip: the TTL etcd answers (0 for an expired lease, with no error). */
export async function keepAliveOnce(etcd: Etcd3, lease: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await keepAliveAttempt(etcd, lease);
    } catch (err) {
      if ((err as { code?: number }).code !== UNAVAILABLE || attempt >= STREAM_ATTEMPTS) throw err;
    }
  }
}

async function keepAliveAttempt(etcd: Etcd3, lease: string): Promise<number> {
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
