/**
 * Which image each role runs on this Docker engine, in one place for the CLI's preflight and the
 * setup's resolveImages activity: present -> use it; else pull it (bounded; a failed pull is not
 * fatal by itself); else, for PgBouncer and etcd asked for by default, the offline stand-in
 * (citusctl/pgbouncer:1, citusctl/etcd:3.5), built from Debian packages when absent; else a problem
 * naming what is missing. Presence is checked first, so a second caller (the activity after the
 * CLI) finds everything present and neither pulls nor builds again.
 */
import type Docker from 'dockerode';
import type { ClusterSpec, ImageRole } from '../../common/spec';
import { imagePresent } from './docker-helpers';
import { IMAGE_ENV, OFFLINE_IMAGES, ROLES, UPSTREAM_IMAGES, resolveImages } from '../../common/images';

/** Roles whose offline image can stand in for the upstream one (the offline PostgreSQL has no Citus). */
export const OFFLINE_STAND_INS: readonly ImageRole[] = ['pgbouncer', 'etcd'];

/** How long one pull may take before it counts as failed. */
export const PULL_TIMEOUT_MS = 5 * 60_000;

export type ImageSource = 'present' | 'pulled' | 'offline' | 'built';

export interface ImageProblem {
  role: ImageRole;
  /** The image the env, the spec or the default asked for. */
  wanted: string;
  /** Where `wanted` came from. */
  from: 'env' | 'spec' | 'default';
  pullError: string;
  /** Set when the offline stand-in could not be built. */
  buildError?: string;
}

export interface ImageResolution {
  images: Record<ImageRole, string>;
  sources: Partial<Record<ImageRole, ImageSource>>;
  problems: ImageProblem[];
}

export interface ResolveHooks {
  /** Pulls one image; returns why it failed, or undefined once it is there. */
  pull(image: string): Promise<string | undefined>;
  /** Builds the offline images (images/build.sh); throws when it fails. */
  build(): Promise<void>;
  log(line: string): void;
}

const origin = (spec: ClusterSpec, env: Record<string, string | undefined>, role: ImageRole): ImageProblem['from'] =>
  env[IMAGE_ENV[role]] ? 'env' : spec.images[role] ? 'spec' : 'default';
const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';

export async function resolveImagesOnEngine(
  docker: Docker,
  spec: ClusterSpec,
  env: Record<string, string | undefined>,
  hooks: ResolveHooks,
): Promise<ImageResolution> {
  const wanted = resolveImages(spec, env);
  const images = { ...wanted };
  const sources: ImageResolution['sources'] = {};
  const present = await Promise.all(ROLES.map((role) => imagePresent(docker, wanted[role])));
  const absent = ROLES.filter((role, i) => {
    if (present[i]) sources[role] = 'present';
    return !present[i];
  });

  const failed: ImageProblem[] = [];
  for (const role of absent) {
    hooks.log(`pulling ${wanted[role]} (${role}) ...`);
    const pullError =
      (await hooks.pull(wanted[role])) ??
      ((await imagePresent(docker, wanted[role])) ? undefined : 'the pull ended without the image');
    if (pullError === undefined) sources[role] = 'pulled';
    else failed.push({ role, wanted: wanted[role], from: origin(spec, env, role), pullError });
  }

  // Only what the user did not name explicitly falls back to an offline stand-in.
  const fallback = failed.filter((p) => p.from === 'default' && OFFLINE_STAND_INS.includes(p.role));
  const problems = failed.filter((p) => !fallback.includes(p));
  const toBuild: ImageProblem[] = [];
  for (const p of fallback) {
    images[p.role] = OFFLINE_IMAGES[p.role];
    if (await imagePresent(docker, OFFLINE_IMAGES[p.role])) sources[p.role] = 'offline';
    else toBuild.push(p);
  }
  if (toBuild.length) {
    hooks.log(`cannot pull ${toBuild.map((p) => p.wanted).join(', ')}; building offline images from Debian packages`);
    let buildError: string | undefined;
    try {
      await hooks.build();
    } catch (err) {
      buildError = firstLine(err);
    }
    for (const p of toBuild) {
      if (await imagePresent(docker, OFFLINE_IMAGES[p.role])) sources[p.role] = 'built';
      else
        problems.push({ ...p, buildError: buildError ?? `${OFFLINE_IMAGES[p.role]} is still absent after the build` });
    }
  }
  return { images, sources, problems: problems.sort((a, b) => ROLES.indexOf(a.role) - ROLES.indexOf(b.role)) };
}

/** Pulls an image, bounded by timeoutMs; returns the first line of why it failed, or undefined. */
export async function pullImage(
  docker: Docker,
  image: string,
  timeoutMs = PULL_TIMEOUT_MS,
  onProgress?: () => void,
): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  let stream: NodeJS.ReadableStream | undefined;
  const pull = async () => {
    stream = (await docker.pull(image)) as NodeJS.ReadableStream;
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(
        stream!,
        (err) => (err ? reject(err) : resolve()),
        () => onProgress?.(),
      ),
    );
  };
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
  });
  try {
    await Promise.race([pull(), deadline]);
    return undefined;
  } catch (err) {
    (stream as { destroy?: () => void } | undefined)?.destroy?.(); // a pull past its deadline stops
    return firstLine(err);
  } finally {
    clearTimeout(timer);
  }
}

/** One line per problem: what is missing, why, and how to supply it. */
export function describeImageProblem(p: ImageProblem): string {
  const why = `${p.wanted} is not present and cannot be pulled (${p.pullError})`;
  if (p.role === 'postgres' && p.from === 'default') {
    return [
      `Missing: a PostgreSQL image with Citus. ${why}, and no offline build provides Citus.`,
      'Supply one on the Docker engine the worker uses: docker load -i citus-13-pg17.tar (saved elsewhere with ' +
        `\`docker save ${UPSTREAM_IMAGES.postgres}\`),`,
      `or set ${IMAGE_ENV.postgres}=<an image with Citus> in the worker's environment, or "images": ` +
        '{"postgres": "<image>"} in the spec.',
    ].join(' ');
  }
  if (p.buildError !== undefined) {
    return (
      `image ${why}, and its offline stand-in ${OFFLINE_IMAGES[p.role]} could not be built (${p.buildError}): ` +
      `pull or load ${p.wanted}, or build the offline images with \`citusctl images build\` (needs root and ` +
      'debootstrap).'
    );
  }
  const named = p.from === 'env' ? `${IMAGE_ENV[p.role]}` : `the spec's images.${p.role}`;
  return (
    `image ${why}; it was asked for by ${named}: load or pull it on the Docker engine (docker load / docker ` +
    `pull), or remove ${named} to use the default.`
  );
}
