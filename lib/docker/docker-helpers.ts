/** Idempotent Docker primitives: each looks before it creates, so a retry after a crash is safe. */
import type Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { pack } from 'tar-stream';
import { LABEL_CLUSTER, LABEL_MEMBER } from '../../common/labels';
import { fatal } from '../errors';

const isNotFound = (err: unknown) => (err as { statusCode?: number }).statusCode === 404;

async function inspectOrUndefined<T>(inspect: () => Promise<T>): Promise<T | undefined> {
  try {
    return await inspect();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function assertOwned(kind: string, name: string, labels: Record<string, string> | undefined, cluster: string) {
  if (labels?.[LABEL_CLUSTER] !== cluster) {
    throw fatal(
      'Conflict',
      `${kind} "${name}" exists but does not belong to citusctl cluster "${cluster}"; remove or rename it`,
    );
  }
}

/** Returns the network's subnet (CIDR). */
export async function ensureNetwork(docker: Docker, name: string, cluster: string): Promise<string> {
  let info = await inspectOrUndefined(() => docker.getNetwork(name).inspect());
  if (!info) {
    try {
      await docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: { [LABEL_CLUSTER]: cluster },
      });
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 409) throw err;
    }
    info = await docker.getNetwork(name).inspect();
  }
  assertOwned('network', name, info.Labels, cluster);
  const subnet = info.IPAM?.Config?.[0]?.Subnet as string | undefined;
  if (!subnet) throw new Error(`network ${name} has no subnet`);
  return subnet;
}

export async function ensureVolume(docker: Docker, name: string, labels: Record<string, string>): Promise<void> {
  const info = await inspectOrUndefined(() => docker.getVolume(name).inspect());
  if (info) return assertOwned('volume', name, info.Labels, labels[LABEL_CLUSTER] ?? '');
  await docker.createVolume({ Name: name, Labels: labels });
}

export interface ContainerFiles {
  /** uid/gid: the owner inside the container (default root); Docker keeps the archive's owner. */
  [path: string]: { content: string; mode: number; uid?: number; gid?: number };
}

/**
 * A tar of `files` for putArchive. `directories: false` leaves out entries for the parent
 * directories: extracting one would reset an existing directory's owner and mode.
 */
export function tarOf(files: ContainerFiles, opts: { directories?: boolean } = {}): Promise<Buffer> {
  const p = pack();
  const dirs = new Set<string>();
  for (const file of opts.directories === false ? [] : Object.keys(files)) {
    const parts = file.replace(/^\//, '').split('/').slice(0, -1);
    parts.forEach((_, i) => dirs.add(parts.slice(0, i + 1).join('/')));
  }
  for (const dir of [...dirs].sort()) p.entry({ name: `${dir}/`, type: 'directory', mode: 0o755 });
  for (const [file, { content, mode, uid, gid }] of Object.entries(files))
    p.entry({ name: file.replace(/^\//, ''), mode, ...(uid === undefined ? {} : { uid, gid: gid ?? uid }) }, content);
  p.finalize();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    p.on('data', (c: unknown) => chunks.push(c as Buffer));
    p.on('end', () => resolve(Buffer.concat(chunks)));
    p.on('error', reject);
  });
}

/** The one reader of a container's state (container-status.ts), in the four states the steps act on. */
export { containerState, type ContainerState } from './container-status';

/**
 * Before anything is stopped or removed by name: a container or volume of that name that exists
 * must carry the cluster's label (and the member's, when it has one). Names alone are ambiguous:
 * cluster `demo` + member `g3-a` and cluster `demo-g3` + member `a` share `citusctl-demo-g3-a`.
 * Fails non-retryably (Conflict) naming what belongs to someone else; absent is fine.
 */
export async function assertOwnedIfPresent(
  docker: Docker,
  kind: 'container' | 'volume',
  name: string,
  cluster: string,
  member?: string,
): Promise<void> {
  const found =
    kind === 'container'
      ? await inspectOrUndefined(() => docker.getContainer(name).inspect()).then(
          (i) => i && { labels: i.Config.Labels },
        )
      : await inspectOrUndefined(() => docker.getVolume(name).inspect()).then((i) => i && { labels: i.Labels });
  if (!found) return;
  const labels = found.labels ?? undefined;
  assertOwned(kind, name, labels, cluster);
  const owner = labels?.[LABEL_MEMBER];
  if (member !== undefined && owner !== undefined && owner !== member) {
    throw fatal(
      'Conflict',
      `${kind} "${name}" belongs to member "${owner}" of cluster "${cluster}", not "${member}"; nothing was removed`,
    );
  }
}

/**
 * Creates the container if absent, writes its files if it is not running, and starts it (unless
 * start is false: a container another step configures and starts).
 * Files go in through the archive API: no bind mounts (works when the worker itself runs in a
 * container) and no secrets in environment variables or `docker inspect`.
 */
export async function ensureContainerRunning(
  docker: Docker,
  cluster: string,
  options: Docker.ContainerCreateOptions & { name: string },
  files: () => Promise<ContainerFiles>,
  start = true,
): Promise<{ created: boolean }> {
  const container = docker.getContainer(options.name);
  let info = await inspectOrUndefined(() => container.inspect());
  let created = false;
  if (!info) {
    try {
      await docker.createContainer(options);
      created = true;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 409) throw err;
    }
    info = await container.inspect();
  }
  assertOwned('container', options.name, info.Config.Labels, cluster);
  if (info.State.Running || !start) return { created };
  await container.putArchive(await tarOf(await files()), { path: '/' });
  try {
    await container.start();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 304) throw err; // 304: already started
  }
  return { created };
}

/** Sets a container's restart policy when it has another (`docker update --restart`). */
export async function ensureRestartPolicy(docker: Docker, name: string, policy: string): Promise<{ changed: boolean }> {
  const info = await docker.getContainer(name).inspect();
  if (info.HostConfig.RestartPolicy?.Name === policy) return { changed: false };
  await docker.getContainer(name).update({ RestartPolicy: { Name: policy } });
  return { changed: true };
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function execIn(
  docker: Docker,
  containerName: string,
  cmd: string[],
  user = 'postgres',
  env: string[] = [],
): Promise<ExecResult> {
  const exec = await docker
    .getContainer(containerName)
    .exec({ Cmd: cmd, User: user, Env: env, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out = new PassThrough();
  const err = new PassThrough();
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  out.on('data', (c: Buffer) => stdout.push(c));
  err.on('data', (c: Buffer) => stderr.push(c));
  docker.modem.demuxStream(stream, out, err);
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  const { ExitCode } = await exec.inspect();
  return {
    exitCode: ExitCode ?? -1,
    stdout: Buffer.concat(stdout).toString(),
    stderr: Buffer.concat(stderr).toString(),
  };
}

export async function imagePresent(docker: Docker, image: string): Promise<boolean> {
  return (await inspectOrUndefined(() => docker.getImage(image).inspect())) !== undefined;
}

/** Container logs as text (non-TTY logs come in frames of an 8-byte header + payload). */
export async function containerLogs(docker: Docker, name: string, tail = 20, sinceSeconds?: number): Promise<string> {
  const raw = (await docker
    .getContainer(name)
    .logs({ stdout: true, stderr: true, tail, ...(sinceSeconds ? { since: sinceSeconds } : {}) })) as unknown as Buffer;
  const parts: Buffer[] = [];
  for (let i = 0; i + 8 <= raw.length;) {
    const size = raw.readUInt32BE(i + 4);
    parts.push(raw.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8').trim();
}
