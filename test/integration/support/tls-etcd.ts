/**
 * A stand-alone etcd served as a cluster's etcd is (lib/docker/node-containers.ts ETCD_TLS_FLAGS,
 * its files put in by activities/setup/etcd-tls.ts), with a CA and certificates of its own in a
 * temporary state directory, for tests that need an etcd but not a whole cluster. Labelled
 * citusctl.it-probe; no volume, no network.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installEtcdTls } from '../../../activities/setup/etcd-tls';
import { parseSpec, type ClusterSpec } from '../../../common/spec';
import { ETCD_MEMBER, containerName } from '../../../common/topology';
import { ETCD_TLS_FLAGS } from '../../../lib/docker/node-containers';
import { ensureClusterTls } from '../../../lib/tls/cluster-tls';
import { orchestratorTls, type ClientTls } from '../../../lib/tls/orchestrator-tls';
import { TlsStore } from '../../../lib/tls/tls-store';
import { docker, testImages } from './cluster';

export interface TlsEtcd {
  spec: ClusterSpec;
  store: TlsStore;
  /** The container's name. */
  name: string;
  /** The orchestrator's client certificate and the trust bundle. */
  tls: ClientTls;
  remove(): Promise<void>;
}

/** Creates and starts it (a leftover of the same name is removed first); answers once etcd listens. */
export async function startTlsEtcd(cluster: string, port: number): Promise<TlsEtcd> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `citusctl-${cluster}-`));
  const spec = parseSpec({
    name: cluster,
    workers: ['g1'],
    members: [
      { name: 'coord-a', group: 'coordinator', port: port + 1 },
      { name: 'g1-a', group: 'g1', port: port + 2 },
    ],
    etcd: { port },
  });
  const store = new TlsStore(root);
  await ensureClusterTls(store, spec);
  const name = containerName(cluster, ETCD_MEMBER);
  const remove = () =>
    docker
      .getContainer(name)
      .remove({ force: true })
      .then(
        () => undefined,
        () => undefined,
      );
  await remove();
  await docker.createContainer({
    name,
    Image: testImages().etcd,
    Labels: { 'citusctl.it-probe': 'true' },
    Entrypoint: ['etcd'],
    Cmd: [
      '--name=etcd',
      '--data-dir=/tmp/etcd',
      ...ETCD_TLS_FLAGS,
      '--listen-client-urls=https://0.0.0.0:2379',
      '--advertise-client-urls=https://127.0.0.1:2379',
      '--listen-peer-urls=https://127.0.0.1:2380',
      '--initial-advertise-peer-urls=https://127.0.0.1:2380',
      '--initial-cluster=etcd=https://127.0.0.1:2380',
      '--log-level=warn',
    ],
    ExposedPorts: { '2379/tcp': {} },
    HostConfig: { PortBindings: { '2379/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] } },
  });
  await installEtcdTls({ docker, tls: store }, spec);
  await docker.getContainer(name).start();
  const tls = orchestratorTls(store, cluster);
  if (!tls) throw new Error(`no client certificate in ${root}`);
  return {
    spec,
    store,
    name,
    tls,
    remove: async () => {
      await remove();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
