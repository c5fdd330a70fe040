/**
 * Commands against an S3 repository run in a container holding pgBackRest's configuration for it:
 * the cluster's backup container when it runs, else a throwaway one from the cluster's postgres
 * image, on the cluster's network when there is one (an endpoint served there), else Docker's default
 * network. The keys go in only as the configuration file (0600, owner postgres).
 */
import type Docker from 'dockerode';
import { LABEL_CLUSTER, LABEL_HELPER } from '../../common/labels';
import { BACKUP_MEMBER } from '../../common/names';
import { containerName, networkName } from '../../common/topology';
import { containerState, execIn, tarOf, type ExecResult } from '../docker/docker-helpers';
import { pgbackrestFiles } from './pgbackrest-config';
import type { S3RepositoryAccess } from './repository';

export interface S3ExecTarget {
  cluster: string;
  /** The throwaway container's image (it has pgBackRest). */
  image: string;
  access: S3RepositoryAccess;
  /** Never the backup container (its configuration may hold other keys): a check of new ones. */
  fresh?: boolean;
}

export async function execWithS3Repository(docker: Docker, t: S3ExecTarget, cmd: string[]): Promise<ExecResult> {
  const backup = containerName(t.cluster, BACKUP_MEMBER);
  if (!t.fresh && (await containerState(docker, backup)) === 'running') return execIn(docker, backup, cmd, 'postgres');
  const network = await docker
    .getNetwork(networkName(t.cluster))
    .inspect()
    .then(
      () => networkName(t.cluster),
      () => 'bridge',
    );
  const helper = await docker.createContainer({
    Image: t.image,
    User: '0',
    Entrypoint: ['/bin/sh', '-c', "trap 'exit 0' INT TERM; while :; do sleep 3600 & wait $!; done"],
    Cmd: [],
    Labels: { [LABEL_CLUSTER]: t.cluster, [LABEL_HELPER]: 's3-repository' },
    HostConfig: { NetworkMode: network },
  });
  try {
    await helper.putArchive(await tarOf(pgbackrestFiles({ stanzas: [], retentionFull: 1, repo: t.access })), {
      path: '/',
    });
    await helper.start();
    // The configuration holds the keys (0600): pgBackRest runs as postgres.
    const own = await execIn(docker, helper.id, ['chown', '-R', 'postgres:postgres', '/citusctl'], '0');
    if (own.exitCode !== 0) throw new Error(`chown /citusctl in ${t.cluster}'s S3 helper failed: ${own.stderr.trim()}`);
    return await execIn(docker, helper.id, cmd, 'postgres');
  } finally {
    await helper.remove({ force: true }).catch(() => undefined);
  }
}
