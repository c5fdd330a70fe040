/** `citusctl down`: removes the cluster's containers and network; volumes (and secrets) only with --volumes. */
import Docker from 'dockerode';
import { LABEL_CLUSTER } from '../activities/docker-helpers';
import type { ClusterSpec } from '../common/spec';
import { SecretStore } from '../lib/secrets';
import { stateDir } from '../lib/state-dir';

export async function down(spec: ClusterSpec, opts: { volumes?: boolean }): Promise<{ removedContainers: string[]; removedVolumes: string[]; network: boolean }> {
  const docker = new Docker();
  const filters = { label: [`${LABEL_CLUSTER}=${spec.name}`] };
  const removedContainers: string[] = [];
  for (const c of await docker.listContainers({ all: true, filters })) {
    await docker.getContainer(c.Id).remove({ force: true });
    removedContainers.push(c.Names[0]?.replace(/^\//, '') ?? c.Id);
  }
  let network = false;
  for (const n of await docker.listNetworks({ filters })) {
    await docker.getNetwork(n.Id).remove();
    network = true;
  }
  const removedVolumes: string[] = [];
  if (opts.volumes) {
    const { Volumes } = await docker.listVolumes({ filters });
    for (const v of Volumes ?? []) {
      await docker.getVolume(v.Name).remove();
      removedVolumes.push(v.Name);
    }
    await new SecretStore(stateDir()).remove(spec.name); // the data they protected is gone
  }
  return { removedContainers, removedVolumes, network };
}
