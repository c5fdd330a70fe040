/**
 * Member state (common/member-state.ts) in its two places: etcd, which the orchestrator reads,
 * and the member's volume, which the node bootstrap obeys. Writes go to the volume first (that is
 * what keeps a fenced member from starting writable), then to etcd.
 */
import type Docker from 'dockerode';
import { extract } from 'tar-stream';
import { MEMBER_STATE_FILE, formatMemberState, parseMemberState, type MemberState } from '../../common/member-state';
import type { ClusterSpec } from '../../common/spec';
import { containerName, volumeName } from '../../common/topology';
import type { ActivityDeps } from '../deps';
import { containerState, tarOf } from '../../lib/docker/docker-helpers';
import { fatal } from '../../lib/errors';
import { resolveImage } from '../../common/images';
import { LABEL_CLUSTER, LABEL_HELPER } from '../../common/labels';
import { PG_VOLUME_TARGET } from '../../lib/docker/node-containers';
import { storeOf } from '../store';

/** The first file of a tar stream as text (docker's archive API answers with a tar). */
async function firstFileOf(archive: NodeJS.ReadableStream): Promise<string> {
  const ex = extract();
  return new Promise<string>((resolve, reject) => {
    let text = '';
    ex.on('entry', (_header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        if (!text) text = Buffer.concat(chunks).toString('utf8');
        next();
      });
      stream.resume();
    });
    ex.on('finish', () => resolve(text));
    ex.on('error', reject);
    archive.pipe(ex);
  });
}

/**
 * Runs fn on a container that mounts the member's volume: its own when it exists (running or
 * not: the archive API works on stopped containers), else a throwaway one that is never started.
 */
async function withVolumeContainer<T>(
  deps: ActivityDeps,
  spec: ClusterSpec,
  member: string,
  fn: (c: Docker.Container) => Promise<T>,
): Promise<T | undefined> {
  const name = containerName(spec.name, member);
  if ((await containerState(deps.docker, name)) !== 'absent') return fn(deps.docker.getContainer(name));
  const volume = volumeName(spec.name, member);
  const exists = await deps.docker
    .getVolume(volume)
    .inspect()
    .then(
      () => true,
      () => false,
    );
  if (!exists) return undefined;
  const helper = await deps.docker.createContainer({
    Image: resolveImage(spec, 'postgres', deps.env),
    Entrypoint: ['/bin/true'],
    Cmd: [],
    Labels: { [LABEL_CLUSTER]: spec.name, [LABEL_HELPER]: 'member-state' },
    HostConfig: { Mounts: [{ Type: 'volume', Source: volume, Target: PG_VOLUME_TARGET }] },
  });
  try {
    return await fn(helper);
  } finally {
    await helper.remove({ force: true }).catch(() => undefined);
  }
}

export async function readVolumeState(
  deps: ActivityDeps,
  spec: ClusterSpec,
  member: string,
): Promise<MemberState | undefined> {
  return withVolumeContainer(deps, spec, member, async (c) => {
    try {
      return parseMemberState(
        await firstFileOf(await c.getArchive({ path: `${PG_VOLUME_TARGET}/${MEMBER_STATE_FILE}` })),
      );
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  });
}

export async function writeVolumeState(
  deps: ActivityDeps,
  spec: ClusterSpec,
  member: string,
  state: MemberState,
): Promise<boolean> {
  const done = await withVolumeContainer(deps, spec, member, async (c) => {
    await c.putArchive(await tarOf({ [MEMBER_STATE_FILE]: { content: formatMemberState(state), mode: 0o644 } }), {
      path: PG_VOLUME_TARGET,
    });
    return true;
  });
  return done === true;
}

/** etcd's copy only: for a state the member's own bootstrap already wrote into its volume. */
export async function writeEtcdState(
  deps: ActivityDeps,
  spec: ClusterSpec,
  member: string,
  state: MemberState,
): Promise<void> {
  await storeOf(deps, spec).writeMemberState(member, state);
}

/** Volume first (what the bootstrap obeys), then etcd. Idempotent. */
export async function setMemberState(
  deps: ActivityDeps,
  input: { spec: ClusterSpec; member: string; state: MemberState },
): Promise<{ volume: boolean }> {
  const { spec, member, state } = input;
  if (!spec.members.some((m) => m.name === member)) throw fatal('BadConfig', `unknown member ${member}`);
  const volume = await writeVolumeState(deps, spec, member, state);
  await writeEtcdState(deps, spec, member, state);
  return { volume };
}

/** Each member's state: the volume's (what will happen at its next start), else etcd's. */
export async function readMemberStates(
  deps: ActivityDeps,
  input: { spec: ClusterSpec; members: string[] },
): Promise<Record<string, MemberState | null>> {
  const out: Record<string, MemberState | null> = {};
  await Promise.all(
    input.members.map(async (m) => {
      const fromVolume = await readVolumeState(deps, input.spec, m);
      if (fromVolume) {
        out[m] = fromVolume;
        return;
      }
      // etcd unreachable, or a record that does not parse: no state known.
      out[m] = await storeOf(deps, input.spec)
        .memberState(m)
        .catch(() => null);
    }),
  );
  return out;
}

export function createMemberStateActivities(deps: ActivityDeps) {
  return {
    setMemberState: (input: { spec: ClusterSpec; member: string; state: MemberState }) => setMemberState(deps, input),
    readMemberStates: (input: { spec: ClusterSpec; members: string[] }) => readMemberStates(deps, input),
    /** etcd's copy only: a member on a host that does not answer (its volume is out of reach). */
    recordMemberStateInEtcd: (input: { spec: ClusterSpec; member: string; state: MemberState }) =>
      writeEtcdState(deps, input.spec, input.member, input.state),
  };
}
