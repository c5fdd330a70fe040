/** Builds the activities' clients once per worker process. */
import Docker from 'dockerode';
import { Etcd3 } from 'etcd3';
import type { ActivityDeps, EtcdConnector } from '../activities/deps';
import { createPgConnector } from '../lib/pg-connector';
import { SecretStore } from '../lib/secrets';
import { stateDir } from '../lib/state-dir';

function etcdConnector(): EtcdConnector & { close(): void } {
  const clients = new Map<number, Etcd3>();
  return {
    client(spec) {
      const port = spec.etcd.port;
      let c = clients.get(port);
      if (!c) {
        c = new Etcd3({ hosts: `http://127.0.0.1:${port}`, dialTimeout: 3000 });
        clients.set(port, c);
      }
      return c;
    },
    close() {
      for (const c of clients.values()) c.close();
      clients.clear();
    },
  };
}

export function createDeps(env: NodeJS.ProcessEnv = process.env): ActivityDeps & { close(): void } {
  const etcd = etcdConnector();
  return {
    docker: new Docker(),
    pg: createPgConnector(),
    etcd,
    secrets: new SecretStore(stateDir(env)),
    env,
    log: (m) => console.error(`[citusctl worker] ${m}`),
    close: () => etcd.close(),
  };
}
