/**
 * The monitor's answer to a member whose container is gone (`docker rm -f`): create it again from
 * the same image on its volume, which still holds its data and its member state, so the bootstrap
 * starts it as that state says (a standby in recovery, a fenced member not at all); the monitor then
 * sees it and rejoins it if it does not stream. Only that member's container is touched.
 */
import type { ClusterSpec } from '../../common/spec';
import { containerName, networkName, volumeName } from '../../common/topology';
import type { ActivityDeps } from '../deps';
import {
  containerState,
  ensureContainerRunning,
  ensureNetwork,
  ensureVolume,
  imagePresent,
} from '../../lib/docker/docker-helpers';
import { fatal } from '../../lib/errors';
import { withHeartbeat } from '../heartbeat';
import { resolveImages } from '../../common/images';
import { labelsFor, postgresContainer } from '../../lib/docker/node-containers';
import { memberContainerFiles } from '../members/member-tls';

export function createMonitorRecreateActivities(deps: ActivityDeps) {
  async function recreateMember(input: {
    spec: ClusterSpec;
    member: string;
  }): Promise<{ created: boolean; state: string }> {
    const { spec } = input;
    const member = spec.members.find((m) => m.name === input.member);
    if (!member) throw fatal('BadConfig', `unknown member ${input.member}`);
    return withHeartbeat(async () => {
      const state = await containerState(deps.docker, containerName(spec.name, member.name));
      if (state !== 'absent') return { created: false, state }; // there again (re-created by `up`, or never gone)
      const image = resolveImages(spec, deps.env).postgres;
      if (!(await imagePresent(deps.docker, image)))
        throw fatal('BadConfig', `image ${image} is no longer on the Docker engine: \`citusctl up\` resolves it`);
      const secrets = await deps.secrets.ensure(spec.name);
      const subnet = await ensureNetwork(deps.docker, networkName(spec.name), spec.name);
      await ensureVolume(
        deps.docker,
        volumeName(spec.name, member.name),
        labelsFor(spec.name, member.group, member.name),
      );
      const r = await ensureContainerRunning(deps.docker, spec.name, postgresContainer(spec, member, image), async () =>
        memberContainerFiles(deps, spec, member.name, secrets, subnet),
      );
      return { created: r.created, state: 'running' };
    });
  }

  return { recreateMember };
}
