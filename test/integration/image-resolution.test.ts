/**
 * Image resolution against the real Docker engine (no cluster, no ports): present images are used
 * as they are with nothing pulled or built; an absent default PgBouncer/etcd falls back to its
 * offline stand-in after a failed pull; an absent image the user named, or a default PostgreSQL
 * with Citus, is a problem naming what is missing and how to supply it. The pull and build hooks
 * are recorded (and the pull made to fail, so no test depends on a registry); presence is Docker's.
 * Then the resolveImages activity itself, with the worker's real Docker client.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import Docker from 'dockerode';
import type { ActivityDeps } from '../../activities/deps';
import { imagePresent } from '../../lib/docker/docker-helpers';
import { describeImageProblem, resolveImagesOnEngine, type ResolveHooks } from '../../lib/docker/image-resolution';
import { OFFLINE_IMAGES, UPSTREAM_IMAGES } from '../../common/images';
import { createResolveImagesActivities } from '../../activities/setup/resolve-images';
import { parseSpec } from '../../common/spec';
import { testImages } from './support/cluster';

jest.setTimeout(120_000);

const docker = new Docker();
const ABSENT = 'citusctl-test/never-built:0';
const spec = parseSpec({ name: 'it-images' });

/** Hooks that record every pull and build; pulls fail as on a machine without a registry. */
function recordingHooks(): ResolveHooks & { pulls: string[]; builds: number } {
  const h = {
    pulls: [] as string[],
    builds: 0,
    async pull(image: string) {
      h.pulls.push(image);
      return 'no registry in this test';
    },
    async build() {
      h.builds++;
    },
    log: () => undefined,
  };
  return h;
}

describe('resolveImagesOnEngine', () => {
  it('the fast path: every image present is used as named, nothing pulled or built', async () => {
    const images = testImages();
    for (const image of Object.values(images)) expect(await imagePresent(docker, image)).toBe(true);
    const hooks = recordingHooks();
    const env = {
      CITUSCTL_IMAGE_POSTGRES: images.postgres,
      CITUSCTL_IMAGE_PGBOUNCER: images.pgbouncer,
      CITUSCTL_IMAGE_ETCD: images.etcd,
    };
    const r = await resolveImagesOnEngine(docker, spec, env, hooks);
    expect(r).toEqual({
      images,
      sources: { postgres: 'present', pgbouncer: 'present', etcd: 'present' },
      problems: [],
    });
    expect(hooks.pulls).toEqual([]);
    expect(hooks.builds).toBe(0);
  });

  it('absent default PgBouncer and etcd: pulled first, then offline stand-ins (here present: no rebuild)', async () => {
    for (const role of ['pgbouncer', 'etcd'] as const) {
      if (await imagePresent(docker, UPSTREAM_IMAGES[role]))
        return console.log(
          `[image-resolution] ${UPSTREAM_IMAGES[role]} is present on this engine: the fallback case does not ` +
            'apply here',
        );
      expect(await imagePresent(docker, OFFLINE_IMAGES[role])).toBe(true);
    }
    const hooks = recordingHooks();
    const r = await resolveImagesOnEngine(docker, spec, { CITUSCTL_IMAGE_POSTGRES: testImages().postgres }, hooks);
    expect(r.problems).toEqual([]);
    expect(r.images).toEqual({
      postgres: testImages().postgres,
      pgbouncer: OFFLINE_IMAGES.pgbouncer,
      etcd: OFFLINE_IMAGES.etcd,
    });
    expect(r.sources).toEqual({ postgres: 'present', pgbouncer: 'offline', etcd: 'offline' });
    expect(hooks.pulls.sort()).toEqual([UPSTREAM_IMAGES.etcd, UPSTREAM_IMAGES.pgbouncer].sort());
    expect(hooks.builds).toBe(0);
  });

  it('an image the user named that is absent is a problem (no silent stand-in), saying where it is named', async () => {
    const hooks = recordingHooks();
    const r = await resolveImagesOnEngine(
      docker,
      parseSpec({ name: 'it-images', images: { etcd: ABSENT } }),
      { CITUSCTL_IMAGE_POSTGRES: testImages().postgres, CITUSCTL_IMAGE_PGBOUNCER: testImages().pgbouncer },
      hooks,
    );
    expect(r.problems).toEqual([{ role: 'etcd', wanted: ABSENT, from: 'spec', pullError: 'no registry in this test' }]);
    expect(describeImageProblem(r.problems[0]!)).toBe(
      `image ${ABSENT} is not present and cannot be pulled (no registry in this test); it was asked for by the ` +
        `spec's images.etcd: load or pull it on the Docker engine (docker load / docker pull), or remove the ` +
        `spec's images.etcd to use the default.`,
    );
    expect(hooks.builds).toBe(0);
  });

  it('an absent default PostgreSQL image: Citus missing, with how to supply it (no offline Citus build)', async () => {
    if (await imagePresent(docker, UPSTREAM_IMAGES.postgres))
      return console.log(`[image-resolution] ${UPSTREAM_IMAGES.postgres} is present: case does not apply`);
    const hooks = recordingHooks();
    const r = await resolveImagesOnEngine(
      docker,
      spec,
      { CITUSCTL_IMAGE_PGBOUNCER: testImages().pgbouncer, CITUSCTL_IMAGE_ETCD: testImages().etcd },
      hooks,
    );
    expect(r.problems.map((p) => p.role)).toEqual(['postgres']);
    const text = describeImageProblem(r.problems[0]!);
    expect(text).toMatch(
      /^Missing: a PostgreSQL image with Citus\. citusdata\/citus:13\.0 is not present and cannot be pulled/,
    );
    expect(text).toContain('docker load');
    expect(text).toContain('CITUSCTL_IMAGE_POSTGRES=<an image with Citus>');
    expect(hooks.builds).toBe(0);
  });
});

describe('the resolveImages activity (real Docker client)', () => {
  const deps = (env: Record<string, string>) => ({ docker, env, log: () => undefined }) as unknown as ActivityDeps;

  it('returns the images to run when all are present', async () => {
    const images = testImages();
    const { resolveImages } = createResolveImagesActivities(
      deps({
        CITUSCTL_IMAGE_POSTGRES: images.postgres,
        CITUSCTL_IMAGE_PGBOUNCER: images.pgbouncer,
        CITUSCTL_IMAGE_ETCD: images.etcd,
      }),
    );
    const r = await new MockActivityEnvironment().run(resolveImages, spec);
    expect(r).toEqual({ images, sources: { postgres: 'present', pgbouncer: 'present', etcd: 'present' } });
  });

  it('fails non-retryably as ImageMissing, naming the image, when none can be had (a real, failing pull)', async () => {
    const { resolveImages } = createResolveImagesActivities(
      deps({
        CITUSCTL_IMAGE_POSTGRES: ABSENT,
        CITUSCTL_IMAGE_PGBOUNCER: testImages().pgbouncer,
        CITUSCTL_IMAGE_ETCD: testImages().etcd,
      }),
    );
    const err = await new MockActivityEnvironment().run(resolveImages, spec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({
      type: 'ImageMissing',
      nonRetryable: true,
      details: [{ missing: [{ role: 'postgres', image: ABSENT }] }],
    });
    expect((err as Error).message).toMatch(
      new RegExp(
        `^image ${ABSENT} is not present and cannot be pulled \\(.+\\); it was asked for by CITUSCTL_IMAGE_POSTGRES`,
      ),
    );
  });
});
