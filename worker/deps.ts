/** Builds the activities' clients once per worker process. */
import Docker from 'dockerode';
import type { ActivityDeps } from '../activities/deps';
import { etcdConnector } from '../lib/etcd-connector';
import type { MetricsSink } from '../lib/metrics';
import { createPgConnector } from '../lib/pg-connector';
import { SecretStore } from '../lib/secrets';
import { stateDir } from '../lib/state-dir';
import { TlsStore } from '../lib/tls/tls-store';

export function createDeps(
  env: NodeJS.ProcessEnv = process.env,
  metrics?: MetricsSink,
): ActivityDeps & { close(): void } {
  const secrets = new SecretStore(stateDir(env));
  const etcd = etcdConnector(secrets);
  return {
    docker: new Docker(),
    pg: createPgConnector(),
    etcd,
    secrets,
    tls: new TlsStore(stateDir(env)),
    env,
    log: (m) => console.error(`[citusctl worker] ${m}`),
    ...(metrics ? { metrics } : {}),
    close: () => etcd.close(),
  };
}
