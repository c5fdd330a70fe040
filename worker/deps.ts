/** Builds the activities' clients once per worker process. */
import Docker from 'dockerode';
import type { ActivityDeps } from '../activities/deps';
import { engineFor } from '../lib/docker/engine-client';
import { etcdConnector } from '../lib/etcd-connector';
import type { MetricsSink } from '../lib/metrics';
import { createPgConnector } from '../lib/pg-connector';
import { SecretStore } from '../lib/secrets';
import { stateDir } from '../lib/state-dir';
import { TlsStore } from '../lib/tls/tls-store';

/** `docker`: the engine the activities act on (a host's, for `citusctl worker --host`); the local one by default. */
export function createDeps(
  env: NodeJS.ProcessEnv = process.env,
  metrics?: MetricsSink,
  docker: Docker = new Docker(),
): ActivityDeps & { close(): void } {
  const secrets = new SecretStore(stateDir(env));
  const tls = new TlsStore(stateDir(env));
  const etcd = etcdConnector(secrets, tls);
  return {
    docker,
    engineOf: (host) => engineFor(host, env),
    pg: createPgConnector(),
    etcd,
    secrets,
    tls,
    env,
    log: (m) => console.error(`[citusctl worker] ${m}`),
    ...(metrics ? { metrics } : {}),
    close: () => etcd.close(),
  };
}
