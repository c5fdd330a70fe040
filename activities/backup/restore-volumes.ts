/** The restored groups' primary volumes, labelled as provisioning labels them, before their data is restored. */
import type { ClusterSpec } from '../../common/spec';
import { groupsOf, volumeName } from '../../common/topology';
import { ensureVolume } from '../../lib/docker/docker-helpers';
import { labelsFor } from '../../lib/docker/node-containers';
import type { ActivityDeps } from '../deps';
import { withHeartbeat } from '../heartbeat';

export function createRestoreVolumeActivities(deps: ActivityDeps) {
  /** Idempotent; the standbys' volumes (and the repository's) come with the setup's provisioning. */
  async function createRestoreVolumes(input: { spec: ClusterSpec }): Promise<{ volumes: string[] }> {
    return withHeartbeat(async () => {
      const volumes = await Promise.all(
        groupsOf(input.spec).map(async (g) => {
          const name = volumeName(input.spec.name, g.primary.name);
          await ensureVolume(deps.docker, name, labelsFor(input.spec.name, g.group, g.primary.name));
          return name;
        }),
      );
      return { volumes };
    });
  }
  return { createRestoreVolumes };
}
