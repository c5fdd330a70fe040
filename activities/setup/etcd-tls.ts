/**
 * etcd's TLS files in its container, and starting it only once they are there (it refuses to start
 * without its certificate). Provision and the monitor's repair both start etcd this way. For a
 * certificate renewal, installEtcdTls is all etcd needs (it reads its certificate and key at every
 * new connection); after a CA rotation a restart (it reads its trusted CAs only at start), which
 * the rotation (activities/tls/rotation.ts) does.
 */
import type { ClusterSpec } from '../../common/spec';
import { ETCD_MEMBER, containerName } from '../../common/topology';
import { containerUser } from '../../lib/docker/container-user';
import { ensureContainerRunning, tarOf, type ContainerFiles } from '../../lib/docker/docker-helpers';
import { etcdContainer } from '../../lib/docker/node-containers';
import { tlsFilesFor } from '../../lib/tls/cluster-tls';
import type { ActivityDeps } from '../deps';

/**
 * Puts etcd's trust bundle, certificate and key (the store's current ones) into its container,
 * running or not, owned by the user etcd runs as (its key is 0600). Idempotent. A running etcd
 * serves a renewed certificate from its next connection on; a new trust bundle (a CA rotation) only
 * after a restart (etcd reads its trusted CAs once).
 */
export async function installEtcdTls(deps: Pick<ActivityDeps, 'docker' | 'tls'>, spec: ClusterSpec): Promise<void> {
  await installEtcdMemberTls(deps, spec, ETCD_MEMBER);
}

/** The same for one member of a multi-member etcd (`etcd-<host>`: its identity and container share the name). */
export async function installEtcdMemberTls(
  deps: Pick<ActivityDeps, 'docker' | 'tls'>,
  spec: ClusterSpec,
  member: string,
): Promise<void> {
  const name = containerName(spec.name, member);
  const owner = await containerUser(deps.docker, name);
  const files: ContainerFiles = Object.fromEntries(
    Object.entries(await tlsFilesFor(deps.tls, spec, member)).map(([file, f]) => [file, { ...f, ...owner }]),
  );
  await deps.docker.getContainer(name).putArchive(await tarOf(files), { path: '/' });
}

/**
 * Creates etcd's container if absent and, when it does not run, puts its TLS files in and starts it.
 * A running etcd is left as it is.
 */
export async function ensureEtcdRunning(
  deps: Pick<ActivityDeps, 'docker' | 'tls'>,
  spec: ClusterSpec,
  image: string,
): Promise<{ created: boolean }> {
  const created = await ensureContainerRunning(
    deps.docker,
    spec.name,
    etcdContainer(spec, image),
    async () => ({}),
    false,
  );
  const container = deps.docker.getContainer(containerName(spec.name, ETCD_MEMBER));
  if ((await container.inspect()).State.Running) return created;
  await installEtcdTls(deps, spec);
  await container.start().catch((e: { statusCode?: number }) => {
    if (e.statusCode !== 304) throw e; // 304: already started
  });
  return created;
}
