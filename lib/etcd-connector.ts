/** The cluster's etcd client, shared by the worker's activities and the CLI's reads (`status`). */
import { Etcd3 } from 'etcd3';
import { etcdClusterOf, etcdEndpoints, isMultiMember } from '../common/etcd-members';
import type { ClusterSpec } from '../common/spec';
import { etcdClientOptions, type EtcdTarget } from './etcd-auth';
import type { SecretStore } from './secrets';
import { orchestratorTls, type ClientTls } from './tls/orchestrator-tls';
import type { TlsStore } from './tls/tls-store';

export interface EtcdConnector {
  /**
   * A cached client for the cluster's etcd (https://127.0.0.1:<spec.etcd.port>; every member's
   * endpoint when it has several: common/etcd-members.ts), over TLS with the
   * orchestrator's client certificate, whose common name makes it etcd's root user. The root
   * password is sent only where there is no certificate yet: etcd3 logs in over a connection that
   * does not check etcd's name, so a password sent there could reach anyone holding a certificate
   * of the cluster's CA (every one names 127.0.0.1) who bound etcd's port while etcd was down.
   */
  client(spec: ClusterSpec, target?: EtcdTarget): Etcd3;
}

/**
 * Where the cluster's etcd answers: the single member's port on 127.0.0.1, as always; else every
 * member's endpoint at its host's address (one member on another host included).
 */
export function etcdTargetOf(spec: ClusterSpec): EtcdTarget {
  const etcd = etcdClusterOf(spec);
  const only = isMultiMember(etcd) ? undefined : etcd.members[0];
  return only?.address === '127.0.0.1' ? spec.etcd.port : etcdEndpoints(etcd);
}

const sameTls = (a: ClientTls | undefined, b: ClientTls | undefined) =>
  a?.ca === b?.ca && a?.cert === b?.cert && a?.key === b?.key;

/**
 * One authenticated etcd client per cluster, cached. The password and the TLS files come from the
 * cluster's state directory at each call (cheap reads), so a cluster re-created with new secrets,
 * or whose certificates were renewed or whose CA rotated, gets a new client. Before they exist (a
 * setup that has not generated them yet) the client lacks them, and the secured etcd refuses it.
 */
export function etcdConnector(
  secrets: SecretStore,
  tlsStore: TlsStore,
  dialTimeoutMs?: number,
): EtcdConnector & { close(): void } {
  const clients = new Map<
    string,
    { client: Etcd3; target: string; password: string | undefined; tls: ClientTls | undefined }
  >();
  return {
    // `target`: another view of the same etcd (one member: the self-fence loop's); one per connector.
    client(spec, target = etcdTargetOf(spec)) {
      const tls = orchestratorTls(tlsStore, spec.name);
      const password = tls ? undefined : secrets.readSync(spec.name)?.etcdRootPassword;
      const key = String(target);
      const cached = clients.get(spec.name);
      if (cached && cached.target === key && cached.password === password && sameTls(cached.tls, tls))
        return cached.client;
      cached?.client.close();
      const client = new Etcd3(etcdClientOptions(target, { tls, password, dialTimeout: dialTimeoutMs }));
      clients.set(spec.name, { client, target: key, password, tls });
      return client;
    },
    close() {
      for (const c of clients.values()) c.client.close();
      clients.clear();
    },
  };
}
