/**
 * Before anything is created: every image must be present (pulled if possible) and the PostgreSQL
 * image must carry Citus. Where images cannot be pulled, offline equivalents are built from Debian
 * packages; what is still missing (a Citus image) is named with how to supply it. The resolution is
 * the one the setup's resolveImages activity runs (lib/docker/image-resolution.ts), so the activity
 * then finds every image present and pulls or builds nothing again.
 */
import type Docker from 'dockerode';
import { spawnSync, type StdioOptions } from 'node:child_process';
import type { ClusterSpec } from '../common/spec';
import { IMAGE_ENV, UPSTREAM_IMAGES } from '../common/images';
import { describeImageProblem, pullImage, resolveImagesOnEngine } from '../lib/docker/image-resolution';
import { cachedImageCapabilityProblem } from '../lib/docker/image-capability-cache';
import { capabilityCheck } from '../lib/docker/capability-check';
import { stateDir } from '../lib/state-dir';
import { projectFile } from './load-spec';
import { PreflightError } from './preflight-error';

export { PreflightError };

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

const supplyCitus = [
  'No package source reachable here carries Citus. Supply an image that has it, then rerun, e.g.:',
  '  docker load -i citus-13-pg17.tar            # an image saved elsewhere with ' +
    `\`docker save ${UPSTREAM_IMAGES.postgres}\``,
  `  ${IMAGE_ENV.postgres}=${UPSTREAM_IMAGES.postgres} citusctl up`,
  'Nothing was created.',
];

/** Returns the spec with the images that will actually run filled in. Throws PreflightError. */
export async function preflightImages(
  docker: Docker,
  spec: ClusterSpec,
  env: NodeJS.ProcessEnv,
  log: (m: string) => void,
  buildOutput: BuildOutput = 'inherit',
): Promise<ClusterSpec> {
  const r = await resolveImagesOnEngine(docker, spec, env, {
    pull: (image) => pullImage(docker, image),
    build: async () => buildOfflineImages(buildOutput),
    log,
  });
  const citus = r.problems.find((p) => p.role === 'postgres' && p.from === 'default');
  if (citus)
    throw new PreflightError(
      [
        `Missing: a PostgreSQL image with Citus. ${citus.wanted} is not present and cannot be pulled ` +
          `(${citus.pullError}).`,
        ...supplyCitus,
      ].join('\n'),
    );
  if (r.problems.length)
    throw new PreflightError([...r.problems.map(describeImageProblem), 'Nothing was created.'].join('\n'));
  const problem = await cachedImageCapabilityProblem(
    docker,
    r.images.postgres,
    stateDir(env),
    capabilityCheck({ backups: spec.backup.enabled }),
  );
  if (problem)
    throw new PreflightError(
      [
        `Missing: a PostgreSQL image with Citus. ${r.images.postgres} cannot run a Citus node: ${problem}.`,
        ...supplyCitus,
      ].join('\n'),
    );
  return { ...spec, images: r.images };
}
