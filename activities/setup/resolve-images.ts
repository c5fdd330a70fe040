/**
 * resolveImages: the setup's first step after validation, so a setup started from the Temporal UI,
 * a schedule or any client gets the same images the CLI would: present, else pulled (bounded),
 * else the offline stand-in (built when absent, heartbeating meanwhile), else a non-retryable
 * ImageMissing naming what is missing and how to supply it. After the CLI's preflight everything
 * is present: nothing is pulled or built twice.
 */
import type { ClusterSpec, ImageRole } from '../../common/spec';
import type { ActivityDeps } from '../deps';
import { fatal } from '../../lib/errors';
import { withHeartbeat } from '../heartbeat';
import { runOfflineBuild } from '../../lib/docker/image-build';
import {
  describeImageProblem,
  pullImage,
  resolveImagesOnEngine,
  type ImageSource,
} from '../../lib/docker/image-resolution';

export interface ResolveImagesResult {
  /** The image each role runs: the workflow puts these into the spec it passes on. */
  images: Record<ImageRole, string>;
  /** How each was found: present, pulled, offline (stand-in present) or built. */
  sources: Partial<Record<ImageRole, ImageSource>>;
}

export function createResolveImagesActivities(deps: ActivityDeps) {
  async function resolveImages(spec: ClusterSpec): Promise<ResolveImagesResult> {
    return withHeartbeat(async (signal) => {
      const r = await resolveImagesOnEngine(deps.docker, spec, deps.env, {
        pull: (image) => pullImage(deps.docker, image),
        build: () => runOfflineBuild((line) => deps.log(line), signal),
        log: deps.log,
      });
      if (r.problems.length) {
        throw fatal('ImageMissing', r.problems.map(describeImageProblem).join('\n'), {
          missing: r.problems.map((p) => ({ role: p.role, image: p.wanted })),
        });
      }
      return { images: r.images, sources: r.sources };
    });
  }
  return { resolveImages };
}
