/**
 * Before anything is created: every image must be present (pulled if possible) and the PostgreSQL
 * image must carry Citus. Where images cannot be pulled, offline equivalents are built from Debian
 * packages; what is still missing (a Citus image) is named with how to supply it.
 */
import type Docker from 'dockerode';
import { spawnSync, type StdioOptions } from 'node:child_process';
import type { ClusterSpec, ImageRole } from '../common/spec';
import { containerLogs, imagePresent } from '../activities/docker-helpers';
import { IMAGE_ENV, OFFLINE_IMAGES, ROLES, resolveImages } from '../activities/images';
import { CAPABILITY_CHECK } from '../activities/postgres';
import { projectFile } from './load-spec';
import { PreflightError } from './preflight-error';

export { PreflightError };


async function tryPull(docker: Docker, image: string): Promise<string | undefined> {
  try {
    const stream = await docker.pull(image);
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())));
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

/** Where the build script's output goes: the terminal, or stderr (--json: stdout carries one JSON document). */
export type BuildOutput = 'inherit' | 'stderr';

/** stdio for images/build.sh: no input; in 'stderr' mode its stdout is our stderr (fd 2), never our stdout. */
export function buildScriptStdio(output: BuildOutput): StdioOptions {
  return output === 'stderr' ? ['ignore', 2, 2] : ['ignore', 'inherit', 'inherit'];
}

export function buildOfflineImages(output: BuildOutput = 'inherit'): void {
  const r = spawnSync('bash', [projectFile('images/build.sh')], { stdio: buildScriptStdio(output) });
  if (r.status !== 0) throw new PreflightError('building the offline images failed (images/build.sh)');
}

/** Runs the capability check in a throwaway container (not part of the cluster). */
async function capabilityProblem(docker: Docker, image: string): Promise<string | undefined> {
  const container = await docker.createContainer({ Image: image, Entrypoint: ['sh', '-c', CAPABILITY_CHECK], User: '0', Labels: { 'citusctl.preflight': 'true' } });
  try {
    await container.start();
    const { StatusCode } = await container.wait();
    if (StatusCode === 0) return undefined;
    const logs = await containerLogs(docker, container.id);
    return logs || `capability check exited ${StatusCode}`;
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

/** Returns the spec with the images that will actually run filled in. Throws PreflightError. */
export async function preflightImages(docker: Docker, spec: ClusterSpec, env: NodeJS.ProcessEnv, log: (m: string) => void, buildOutput: BuildOutput = 'inherit'): Promise<ClusterSpec> {
  const images = resolveImages(spec, env);
  const final: Record<ImageRole, string> = { ...images };
  const pullErrors: Partial<Record<ImageRole, string>> = {};
  for (const role of ROLES) {
    if (await imagePresent(docker, images[role])) continue;
    log(`pulling ${images[role]} ...`);
    const err = await tryPull(docker, images[role]);
    if (err) pullErrors[role] = err;
  }
  const missing = ROLES.filter((r) => pullErrors[r]);
  if (missing.length) {
    const explicit = missing.filter((r) => env[IMAGE_ENV[r]] || spec.images[r]);
    if (explicit.length) {
      throw new PreflightError(explicit.map((r) => `image ${images[r]} (${r}) is not present and cannot be pulled: ${pullErrors[r]}`).join('\n'));
    }
    log(`cannot pull ${missing.map((r) => images[r]).join(', ')}; building offline images from Debian packages`);
    buildOfflineImages(buildOutput);
    for (const role of missing) final[role] = OFFLINE_IMAGES[role];
  }
  const problem = await capabilityProblem(docker, final.postgres);
  if (problem) {
    const why = pullErrors.postgres ? `${images.postgres} cannot be pulled (${pullErrors.postgres}), and ` : '';
    throw new PreflightError(
      [
        `Missing: a PostgreSQL image with Citus. ${why}${final.postgres} cannot run a Citus node: ${problem}.`,
        'No package source reachable here carries Citus. Supply an image that has it, then rerun, e.g.:',
        '  docker load -i citus-13-pg17.tar            # an image saved elsewhere with `docker save citusdata/citus:13.0`',
        `  ${IMAGE_ENV.postgres}=citusdata/citus:13.0 citusctl up`,
        'Nothing was created.',
      ].join('\n'),
    );
  }
  return { ...spec, images: final };
}
