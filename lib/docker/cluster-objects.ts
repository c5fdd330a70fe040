/**
 * A cluster's Docker objects found by their label (common/labels.ts), never by name: what `down`
 * removes, and the cluster names Docker knows on this machine.
 */
import type Docker from 'dockerode';
import { LABEL_CLUSTER } from '../../common/labels';
import { backupRepoVolumeName } from '../../common/topology';

export interface RemovedObjects {
  removedContainers: string[];
  removedVolumes: string[];
  network: boolean;
}

/** Every cluster name on a citusctl container of this Docker engine. */
export async function labelledClusters(docker: Docker): Promise<string[]> {
  const names = new Set<string>();
  for (const c of await docker.listContainers({ all: true, filters: { label: [LABEL_CLUSTER] } })) {
    const name = c.Labels?.[LABEL_CLUSTER];
    if (name) names.add(name);
  }
  return [...names];
}

/** true: removed (or already gone); false: still there (409 in use, or being removed). */
async function removeOrCount(remove: () => Promise<unknown>): Promise<boolean> {
  try {
    await remove();
    return true;
  } catch (err) {
    const code = (err as { statusCode?: number }).statusCode;
    if (code === 404) return true;
    if (code === 409) return false;
    throw err;
  }
}

export interface RemovalScope {
  /** The members' data volumes (and the etcd volume). */
  volumes: boolean;
  /** The backup repository volume too (only with volumes): the backups outlive the cluster unless asked. */
  backups?: boolean;
}

/**
 * One pass of removal (containers, network, volumes when asked) into `out`; returns how many objects it saw that are
 * still there.
 */
export async function removeClusterObjectsOnce(
  docker: Docker,
  cluster: string,
  scope: RemovalScope,
  out: RemovedObjects,
): Promise<number> {
  const filters = { label: [`${LABEL_CLUSTER}=${cluster}`] };
  let left = 0;
  for (const c of await docker.listContainers({ all: true, filters })) {
    if (await removeOrCount(() => docker.getContainer(c.Id).remove({ force: true })))
      out.removedContainers.push(c.Names[0]?.replace(/^\//, '') ?? c.Id);
    else left++;
  }
  for (const n of await docker.listNetworks({ filters })) {
    if (await removeOrCount(() => docker.getNetwork(n.Id).remove())) out.network = true;
    else left++;
  }
  if (scope.volumes) {
    const { Volumes } = await docker.listVolumes({ filters });
    for (const v of Volumes ?? []) {
      if (v.Name === backupRepoVolumeName(cluster) && !scope.backups) continue;
      if (await removeOrCount(() => docker.getVolume(v.Name).remove())) out.removedVolumes.push(v.Name);
      else left++;
    }
  }
  return left;
}

/** The cluster's backup repository volume, when there is one (`down --volumes` keeps it unless asked). */
export async function backupRepoPresent(docker: Docker, cluster: string): Promise<boolean> {
  try {
    await docker.getVolume(backupRepoVolumeName(cluster)).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

/** Removes the repository volume whatever its labels (true: removed, false: there was none; 409 in use throws). */
export async function removeBackupRepo(docker: Docker, cluster: string): Promise<boolean> {
  try {
    await docker.getVolume(backupRepoVolumeName(cluster)).remove();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}
