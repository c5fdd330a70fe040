/**
 * A PostgreSQL member's TLS files in its container (lib/tls/cluster-tls.ts TLS_FILES): the trust
 * bundle, its certificate and its key, which PostgreSQL only loads owned by postgres with mode
 * 0600. Files put through Docker's archive API arrive owned by root: a stopped container's bootstrap
 * takes them over at its start; in a running one they are staged, handed to postgres and renamed
 * into place (a reload never sees a half-written or root-owned key).
 */
import { hostCidrs, isMultiHost, peerPort } from '../../common/addressing';
import { memberBackupFiles } from '../../lib/backup/pgbackrest-config';
import { RepositoryStore } from '../../lib/backup/repository';
import * as path from 'node:path';
import type { ClusterSpec } from '../../common/spec';
import { memberIdentityId } from '../../common/tls-identities';
import { containerName } from '../../common/topology';
import { containerState, execIn, tarOf, type ContainerFiles } from '../../lib/docker/docker-helpers';
import { postgresFiles } from '../../lib/docker/postgres-config';
import { fatal, notReady } from '../../lib/errors';
import { TLS_DIR, tlsFilesFor } from '../../lib/tls/cluster-tls';
import type { ClusterSecrets } from '../../lib/secrets';
import type { ActivityDeps } from '../deps';

/** Everything a member's container gets before it starts: the configuration and its TLS files. */
export async function memberContainerFiles(
  deps: Pick<ActivityDeps, 'tls' | 'secrets'>,
  spec: ClusterSpec,
  member: string,
  secrets: ClusterSecrets,
  networkCidr: string,
): Promise<ContainerFiles> {
  const group = spec.members.find((m) => m.name === member)?.group;
  if (!group) throw fatal('BadConfig', `unknown member ${member}`);
  return {
    ...postgresFiles(secrets, networkCidr, await tlsFilesFor(deps.tls, spec, memberIdentityId(member)), {
      hostCidrs: hostCidrs(spec),
      ports: isMultiHost(spec) ? Object.fromEntries(spec.members.map((m) => [m.name, peerPort(spec, m.name)])) : {},
    }),
    ...memberBackupFiles(spec, group, await new RepositoryStore(deps.secrets.root).ensure(spec)),
  };
}

const STAGING = `${TLS_DIR}/.incoming`;

/**
 * Puts the member's current TLS files (from the store) in its container and makes the key usable
 * by PostgreSQL. Idempotent; no reload (the caller reloads: pg_reload_conf picks them up).
 */
export async function installMemberTls(
  deps: Pick<ActivityDeps, 'docker' | 'tls'>,
  spec: ClusterSpec,
  member: string,
): Promise<{ running: boolean }> {
  if (!spec.members.some((m) => m.name === member)) throw fatal('BadConfig', `unknown member ${member}`);
  const name = containerName(spec.name, member);
  const files = await tlsFilesFor(deps.tls, spec, memberIdentityId(member));
  const state = await containerState(deps.docker, name);
  if (state === 'absent') throw notReady(`container ${name} does not exist`);
  const container = deps.docker.getContainer(name);
  if (state !== 'running') {
    // Its bootstrap hands /citusctl to postgres when it starts.
    await container.putArchive(await tarOf(files), { path: '/' });
    return { running: false };
  }
  const staged: ContainerFiles = {};
  for (const [file, f] of Object.entries(files)) staged[`${STAGING}/${path.basename(file)}`] = f;
  await container.putArchive(await tarOf(staged), { path: '/' });
  const moves = Object.keys(files).map((file) => `mv -f ${STAGING}/${path.basename(file)} ${file}`);
  const r = await execIn(
    deps.docker,
    name,
    ['sh', '-ec', [`chown postgres:postgres ${STAGING}/*`, ...moves].join('\n')],
    'root',
  );
  if (r.exitCode !== 0)
    throw notReady(`installing the TLS files in ${name} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  return { running: true };
}
