/**
 * etcd's TLS files in its container, and starting it only once they are there (it refuses to start
 * without its certificate). Provision and the monitor's repair both start etcd this way. For a
 * certificate renewal, installEtcdTls is all etcd needs (it reads its certificate and key at every
 * new connection); for a CA rotation, ensureEtcdTrust (it reads its trusted CAs only at start).
 */
import { Etcd3 } from 'etcd3';
import type { ClusterSpec } from '../../common/spec';
import { ETCD_MEMBER, containerName } from '../../common/topology';
import { containerOwner } from '../../lib/docker/container-user';
import { ensureContainerRunning, tarOf, type ContainerFiles } from '../../lib/docker/docker-helpers';
import { etcdContainer } from '../../lib/docker/node-containers';
import { readContainerFile } from '../../lib/docker/container-file';
import { etcdClientOptions } from '../../lib/etcd-auth';
import { TLS_FILES, tlsFilesFor } from '../../lib/tls/cluster-tls';
import { orchestratorTls } from '../../lib/tls/orchestrator-tls';
import { pollUntil, sleep } from '../heartbeat';
import type { ActivityDeps } from '../deps';

/**
 * Puts etcd's trust bundle, certificate and key (the store's current ones) into its container,
 * running or not, owned by the user etcd runs as (its key is 0600). Idempotent. A running etcd
 * serves a renewed certificate from its next connection on; a new trust bundle (a CA rotation) only
 * after a restart (etcd reads its trusted CAs once).
 */
export async function installEtcdTls(deps: Pick<ActivityDeps, 'docker' | 'tls'>, spec: ClusterSpec): Promise<void> {
  const name = containerName(spec.name, ETCD_MEMBER);
  const owner = await containerOwner(deps.docker, name);
  const files: ContainerFiles = Object.fromEntries(
    Object.entries(await tlsFilesFor(deps.tls, spec, ETCD_MEMBER)).map(([file, f]) => [file, { ...f, ...owner }]),
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

/**
 * Makes etcd trust the store's current CAs. etcd reads its trusted CAs once, at start: after a CA
 * rotation (the bundle: the new CA, then the old) it admits a client certificate the new CA signed
 * only once restarted, and after the old CA is retired it trusts it until then. Puts the files in
 * when the bundle in the container differs, then restarts etcd unless it started after the bundle
 * it holds was written; returns once etcd answers again. The restart is a short outage of etcd
 * (the worker's calls fail and are retried meanwhile; members and PgBouncer are not touched).
 */
export async function ensureEtcdTrust(
  deps: Pick<ActivityDeps, 'docker' | 'tls'>,
  spec: ClusterSpec,
  answerWithinMs = 30_000,
): Promise<{ restarted: boolean }> {
  const name = containerName(spec.name, ETCD_MEMBER);
  const held = await readContainerFile(deps.docker, name, TLS_FILES.ca);
  const current = held?.text === (await deps.tls.trust(spec.name));
  if (!current) await installEtcdTls(deps, spec);
  const info = await deps.docker.getContainer(name).inspect();
  if (!info.State.Running) return { restarted: false }; // it reads them when it starts
  // The archive's mtime has whole seconds: a bundle written in the second etcd started counts as
  // newer, and etcd restarts only once that second is over, so that a rerun finds it done.
  const writtenSecond = Math.floor((current && held.mtime ? held.mtime.getTime() : Date.now()) / 1000) * 1000;
  if (writtenSecond + 1000 <= new Date(info.State.StartedAt).getTime()) return { restarted: false };
  await sleep(Math.max(0, writtenSecond + 1000 - Date.now()));
  await deps.docker.getContainer(name).restart({ t: 10 });
  const client = new Etcd3(etcdClientOptions(spec.etcd.port, { tls: orchestratorTls(deps.tls, spec.name) }));
  try {
    await pollUntil(async () => (await client.maintenance.status(), true), answerWithinMs, 100);
  } finally {
    client.close();
  }
  return { restarted: true };
}
