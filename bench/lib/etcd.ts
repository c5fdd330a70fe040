/**
 * Reads each group's live primary from etcd (primaryKey, common/etcd-keys.ts), with the
 * cluster's etcd credentials from its secrets file when it has them (etcd may require auth).
 */
import { Etcd3, type IOptions } from 'etcd3';
import { primaryKey } from '../../common/etcd-keys';
import type { BenchCluster } from './cluster';
import { withTimeout } from './util';

/** etcd credentials as stored next to the other secrets (`etcdRootPassword`, user root). */
export function etcdAuth(secrets: Record<string, unknown>): IOptions['auth'] | undefined {
  const nested =
    typeof secrets.etcd === 'object' && secrets.etcd !== null ? (secrets.etcd as Record<string, unknown>) : {};
  const str = (...xs: unknown[]) => xs.find((x): x is string => typeof x === 'string' && x.length > 0);
  const password = str(secrets.etcdRootPassword, secrets.etcdPassword, nested.password);
  if (!password) return undefined;
  const username = str(secrets.etcdUser, secrets.etcdUsername, nested.user, nested.username) ?? 'root';
  return { username, password };
}

/** group -> member named by etcd (undefined when the key is absent). Throws when etcd does not answer. */
export async function etcdPrimaries(
  cluster: BenchCluster,
  timeoutMs = 3000,
): Promise<Record<string, string | undefined>> {
  const auth = etcdAuth(cluster.secrets());
  const etcd = new Etcd3({
    hosts: `http://127.0.0.1:${cluster.spec.etcd.port}`,
    dialTimeout: timeoutMs,
    ...(auth ? { auth } : {}),
  });
  try {
    return await withTimeout(timeoutMs, 'etcd', async () => {
      const out: Record<string, string | undefined> = {};
      for (const g of cluster.groups()) out[g] = (await etcd.get(primaryKey(cluster.name, g)).string()) ?? undefined;
      return out;
    });
  } finally {
    etcd.close();
  }
}
