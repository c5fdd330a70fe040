/** Builds the activities' clients once per worker process. */
import Docker from 'dockerode';
import { Etcd3 } from 'etcd3';
import type { ActivityDeps, EtcdConnector } from '../activities/deps';
import { etcdClientOptions } from '../lib/etcd-auth';
import type { MetricsSink } from '../lib/metrics';
import { createPgConnector } from '../lib/pg-connector';
import { SecretStore } from '../lib/secrets';
import { stateDir } from '../lib/state-dir';

/**
 * One authenticated etcd client per cluster, cached. The password comes from the cluster's secrets
 * file at each call (a cheap read), so a cluster re-created with new secrets gets a new client.
 * Before its secrets exist (a setup that has not generated them yet) the client is a plain one,
 * which the secured etcd refuses.
 */
export function etcdConnector(secrets: SecretStore): EtcdConnector & { close(): void } {
  const clients = new Map<string, { client: Etcd3; port: number; password: string | undefined }>();
  return {
    client(spec) {
      const password = secrets.readSync(spec.name)?.etcdRootPassword;
      const port = spec.etcd.port;
      const cached = clients.get(spec.name);
      if (cached && cached.port === port && cached.password === password) return cached.client;
      cached?.client.close();
      const client = new Etcd3(etcdClientOptions(port, password));
      clients.set(spec.name, { client, port, password });
      return client;
    },
    close() {
      for (const c of clients.values()) c.client.close();
      clients.clear();
    },
  };
}

export function createDeps(env: NodeJS.ProcessEnv = process.env, metrics?: MetricsSink): ActivityDeps & { close(): void } {
  const secrets = new SecretStore(stateDir(env));
  const etcd = etcdConnector(secrets);
  return {
    docker: new Docker(),
    pg: createPgConnector(),
    etcd,
    secrets,
    env,
    log: (m) => console.error(`[citusctl worker] ${m}`),
    ...(metrics ? { metrics } : {}),
    close: () => etcd.close(),
  };
}
