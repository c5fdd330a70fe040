/** PostgreSQL node activities: readiness (image capabilities, accepting connections) and node basics. */
import { hostOfContainer } from '../../common/addressing';
import type { ClusterSpec, MemberSpec } from '../../common/spec';
import { APP_USER, REPLICATION_USER, containerName } from '../../common/topology';
import type { ActivityDeps } from '../deps';
import { containerLogs, containerState, execIn } from '../../lib/docker/docker-helpers';
import { classifyPgError, fatal } from '../../lib/errors';
import { pollUntil, withHeartbeat } from '../heartbeat';
import { ping } from '../../lib/postgres';
import { createLoginRole, ensureCitusExtension, existingRoles } from '../../lib/postgres/roles';
import { asSuperuser } from '../members/superuser';
import { resolveImage } from '../../common/images';
import { readVolumeState } from '../members/state';
import { capabilityCheck } from '../../lib/docker/capability-check';
import { capabilityPassed, recordCapabilityPassed } from '../../lib/docker/image-capability-cache';
import { stateDir } from '../../lib/state-dir';

export function createPostgresActivities(deps: ActivityDeps) {
  const { docker } = deps;

  async function checkImageCapabilities(spec: ClusterSpec, member: MemberSpec): Promise<void> {
    const name = containerName(spec.name, member.name);
    const image = resolveImage(spec, 'postgres', deps.env);
    const info = await docker.getContainer(name).inspect();
    if (!info.State.Running) {
      if (info.State.ExitCode === 64)
        throw fatal(
          'ImageIncapable',
          `image ${image}: no PostgreSQL binaries under /usr/lib/postgresql/*/bin (member ${member.name})`,
        );
      // Provisioning started it; a container that stopped since failed to boot. Retrying will not help.
      const logs = await containerLogs(docker, name, 5);
      throw fatal(
        'ImageIncapable',
        `container ${name} (image ${image}) exited with code ${info.State.ExitCode}: ${logs}`,
      );
    }
    // An image that passed this check before (the preflight, an earlier setup) needs no exec per member.
    const root = stateDir(deps.env);
    const check = capabilityCheck({ backups: spec.backup.enabled });
    if (capabilityPassed(root, info.Image, check)) return;
    const r = await execIn(docker, name, ['sh', '-c', check], 'root');
    if (r.exitCode !== 0) {
      throw fatal(
        'ImageIncapable',
        `image ${image} cannot run a Citus node: ${r.stdout.trim() || r.stderr.trim()}. Supply an image with ` +
          'PostgreSQL and Citus through CITUSCTL_IMAGE_POSTGRES or images.postgres in the spec.',
      );
    }
    recordCapabilityPassed(root, info.Image, check);
  }

  /**
   * Readiness: every container's image is capable; every primary accepts connections. With `host`
   * (several hosts), those on that host only, on this worker's engine (that host's).
   */
  async function waitForNodes(input: { spec: ClusterSpec; primaries: string[]; host?: string }): Promise<void> {
    const here = (member: string) => !input.host || hostOfContainer(input.spec, member).name === input.host;
    return withHeartbeat(async () => {
      await Promise.all(
        input.spec.members.filter((m) => here(m.name)).map((member) => checkImageCapabilities(input.spec, member)),
      );
      for (const name of input.primaries.filter(here)) {
        const member = input.spec.members.find((m) => m.name === name);
        if (!member) throw fatal('BadConfig', `unknown primary ${name}`);
        // A fenced primary never starts: say so instead of waiting for it.
        const state = await readVolumeState(deps, input.spec, name);
        if (state && state.state !== 'primary') {
          const why = state.reason ? ` (${state.reason}, ${state.at})` : '';
          throw fatal(
            'Refused',
            `${name}, the recorded primary of group ${member.group}, is ${state.state}${why}: ` +
              `run \`citusctl unfence ${name}\` (it refuses while another member of the group is writable) ` +
              'or fail over the group',
          );
        }
        try {
          await pollUntil(
            () =>
              asSuperuser(deps, input.spec, member.name, async (c) => {
                await ping(c);
                return true;
              }),
            20_000,
          );
        } catch (err) {
          throw classifyPgError(err, `${member.name} is not accepting connections`);
        }
      }
    });
  }

  /** Roles and the citus extension on one primary. Check, then act: safe to repeat. */
  async function prepareNode(input: { spec: ClusterSpec; member: string }): Promise<void> {
    return withHeartbeat(async () => {
      const member = input.spec.members.find((m) => m.name === input.member);
      if (!member) throw fatal('BadConfig', `unknown member ${input.member}`);
      const s = await deps.secrets.ensure(input.spec.name);
      try {
        await asSuperuser(deps, input.spec, member.name, async (c) => {
          const have = await existingRoles(c, [REPLICATION_USER, APP_USER]);
          if (!have.has(REPLICATION_USER)) await createLoginRole(c, REPLICATION_USER, s.replicationPassword, true);
          // The stored SCRAM verifier, identical to PgBouncer's auth file entry.
          if (!have.has(APP_USER)) await createLoginRole(c, APP_USER, s.appScramVerifier);
          await ensureCitusExtension(c);
        });
      } catch (err) {
        throw classifyPgError(err, `preparing ${member.name}`);
      }
    });
  }

  async function memberState(spec: ClusterSpec, member: string) {
    return containerState(docker, containerName(spec.name, member));
  }

  return { waitForNodes, prepareNode, memberState };
}
