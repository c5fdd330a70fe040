/** Provision: network, volumes and containers, each created only if absent (check, then act). */
import type { ClusterSpec } from '../common/spec';
import { ETCD_MEMBER, PGBOUNCER_MEMBER, networkName, volumeName } from '../common/topology';
import type { ActivityDeps } from './deps';
import { ensureContainerRunning, ensureNetwork, ensureVolume, imagePresent } from './docker-helpers';
import { fatal } from './errors';
import { withHeartbeat } from './heartbeat';
import { resolveImages, ROLES, IMAGE_ENV } from './images';
import { etcdContainer, labelsFor, pgbouncerContainer, postgresContainer } from './node-containers';
import { postgresFiles } from './postgres-config';

export interface ProvisionResult {
  network: string;
  subnet: string;
  created: string[];
}

export function createProvisionActivities(deps: ActivityDeps) {
  const { docker } = deps;

  async function provisionCluster(spec: ClusterSpec): Promise<ProvisionResult> {
    return withHeartbeat(async () => {
      const images = resolveImages(spec, deps.env);
      for (const role of ROLES) {
        if (!(await imagePresent(docker, images[role]))) {
          throw fatal('BadConfig', `image ${images[role]} (${role}) is not present on the Docker engine; pull or build it, or set ${IMAGE_ENV[role]}`);
        }
      }
      const secrets = await deps.secrets.ensure(spec.name);
      const subnet = await ensureNetwork(docker, networkName(spec.name), spec.name);
      const created: string[] = [];
      // Members are independent: create and start them concurrently (initdb starts sooner).
      await Promise.all(
        spec.members.map(async (member) => {
          await ensureVolume(docker, volumeName(spec.name, member.name), labelsFor(spec.name, member.group, member.name));
          const r = await ensureContainerRunning(docker, spec.name, postgresContainer(spec, member, images.postgres), async () => postgresFiles(secrets, subnet));
          if (r.created) created.push(member.name);
        }),
      );
      created.sort((a, b) => spec.members.findIndex((m) => m.name === a) - spec.members.findIndex((m) => m.name === b));
      await ensureVolume(docker, volumeName(spec.name, ETCD_MEMBER), labelsFor(spec.name, ETCD_MEMBER, ETCD_MEMBER));
      if ((await ensureContainerRunning(docker, spec.name, etcdContainer(spec, images.etcd), async () => ({}))).created) created.push(ETCD_MEMBER);
      // PgBouncer is created here but configured and started by its own step, once the coordinator serves.
      if ((await ensureContainerRunning(docker, spec.name, pgbouncerContainer(spec, images.pgbouncer), async () => ({}), false)).created) created.push(PGBOUNCER_MEMBER);
      return { network: networkName(spec.name), subnet, created };
    });
  }

  return { provisionCluster };
}
