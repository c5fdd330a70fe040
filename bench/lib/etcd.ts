/**
 * Reads each group's live primary from etcd (primaryKey, common/etcd-keys.ts), over TLS with the
 * cluster's client certificate and its etcd credentials from its secrets file when it has them.
 */
import { Etcd3, type IOptions } from 'etcd3';
import { primaryKey } from '../../common/etcd-keys';
import { etcdClientOptions } from '../../lib/etcd-auth';
import { etcdTargetOf } from '../../lib/etcd-connector';
import { orchestratorTls } from '../../lib/tls/orchestrator-tls';
import { TlsStore } from '../../lib/tls/tls-store';
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

/**
 * A client of the cluster's etcd (every member's endpoint on several hosts): TLS with citusctl's client
 * certificate from the state dir, root's password.
 */
export function benchEtcd(cluster: BenchCluster, dialTimeout = 3000): Etcd3 {
  const auth = etcdAuth(cluster.secrets());
  const tls = orchestratorTls(new TlsStore(cluster.stateDir), cluster.name);
  return new Etcd3({
    ...etcdClientOptions(etcdTargetOf(cluster.spec), { tls, dialTimeout }),
    ...(auth ? { auth } : {}),
  });
}

/** group -> member named by etcd (undefined when the key is absent). Throws when etcd does not answer. */
export async function etcdPrimaries(
  cluster: BenchCluster,
  timeoutMs = 3000,
): Promise<Record<string, string | undefined>> {
  const etcd = benchEtcd(cluster, timeoutMs);
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
