/** The cluster's etcd client, shared by the worker's activities and the CLI's reads (`status`). */
import { Etcd3 } from 'etcd3';
import type { ClusterSpec } from '../common/spec';
import { etcdClientOptions } from './etcd-auth';
import type { SecretStore } from './secrets';

export interface EtcdConnector {
  /**
   * A cached client for the cluster's etcd (127.0.0.1:<spec.etcd.port>), authenticated as etcd's
   * root user with the password from the cluster's secrets file (etcd requires it once provisioned).
   */
  client(spec: ClusterSpec): Etcd3;
}

/**
 * One authenticated etcd client per cluster, cached. The password comes from the cluster's secrets
 * file at each call (a cheap read), so a cluster re-created with new secrets gets a new client.
 * Before its secrets exist (a setup that has not generated them yet) the client is a plain one,
 * which the secured etcd refuses.
 */
export function etcdConnector(secrets: SecretStore, dialTimeoutMs?: number): EtcdConnector & { close(): void } {
  const clients = new Map<string, { client: Etcd3; port: number; password: string | undefined }>();
  return {
    client(spec) {
      const password = secrets.readSync(spec.name)?.etcdRootPassword;
      const port = spec.etcd.port;
      const cached = clients.get(spec.name);
      if (cached && cached.port === port && cached.password === password) return cached.client;
      cached?.client.close();
      const client = new Etcd3(etcdClientOptions(port, password, dialTimeoutMs));
      clients.set(spec.name, { client, port, password });
      return client;
    },
    close() {
      for (const c of clients.values()) c.client.close();
      clients.clear();
    },
  };
}
