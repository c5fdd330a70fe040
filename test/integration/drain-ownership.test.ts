/**
 * Drain removes containers and volumes by name, and names are ambiguous: cluster `it-own` + member
 * `g3-a` and cluster `it-own-g3` + member `a` are both `citusctl-it-own-g3-a`. Against the real
 * Docker engine: the other cluster's container and volume of that name make the drain activities
 * (its check, and its removal step) refuse with Conflict, and both are still there afterwards;
 * the cluster's own (labelled) ones are removed. No PostgreSQL is needed: the ownership check
 * comes before anything else. Creates containers (never started) and volumes labelled it-own*.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import Docker from 'dockerode';
import { createDrainActivities } from '../../activities/scale/drain';
import type { ActivityDeps } from '../../activities/deps';
import { parseSpec } from '../../common/spec';
import { containerName, volumeName } from '../../common/topology';
import { testImages } from './support/cluster';

jest.setTimeout(120_000);

const docker = new Docker();
const spec = parseSpec({
  name: 'it-own',
  workers: ['g1', 'g3'],
  members: [
    { name: 'coord-a', group: 'coordinator', port: 31360 },
    { name: 'g1-a', group: 'g1', port: 31361 },
    { name: 'g3-a', group: 'g3', port: 31362 },
    { name: 'g3-b', group: 'g3', port: 31363 },
  ],
  pgbouncer: { port: 31364 },
  etcd: { port: 31365 },
});
const primaries = { coordinator: 'coord-a', workers: { g1: 'g1-a', g3: 'g3-a' } };
// Only Docker is used before the ownership check; the rest of the deps are never reached.
const drain = createDrainActivities({ docker, env: {}, log: () => undefined } as unknown as ActivityDeps);
const SHARED = containerName('it-own', 'g3-a'); // === containerName('it-own-g3', 'a')

async function removeAll(): Promise<void> {
  for (const label of ['citusctl.cluster=it-own', 'citusctl.cluster=it-own-g3']) {
    for (const c of await docker.listContainers({ all: true, filters: { label: [label] } }))
      await docker.getContainer(c.Id).remove({ force: true });
    for (const v of (await docker.listVolumes({ filters: { label: [label] } })).Volumes ?? [])
      await docker.getVolume(v.Name).remove({ force: true });
  }
}

async function create(name: string, cluster: string, member: string): Promise<void> {
  const labels = { 'citusctl.cluster': cluster, 'citusctl.member': member };
  await docker.createContainer({ name, Image: testImages().etcd, Entrypoint: ['sleep', 'infinity'], Labels: labels });
  await docker.createVolume({ Name: `${name}-data`, Labels: labels });
}

const exists = async (kind: 'container' | 'volume', name: string) =>
  (kind === 'container' ? docker.getContainer(name) : docker.getVolume(name)).inspect().then(
    () => true,
    () => false,
  );

describe("drain removes only what carries its cluster's label", () => {
  beforeAll(async () => {
    await removeAll();
    expect(SHARED).toBe(containerName('it-own-g3', 'a'));
    await create(SHARED, 'it-own-g3', 'a'); // the other cluster's member `a`
    await create(containerName('it-own', 'g3-b'), 'it-own', 'g3-b'); // ours
  });

  afterAll(removeAll);

  it('the check step refuses (Conflict) before anything is read or changed', async () => {
    const err = await drain.checkDrain({ spec, primaries, group: 'g3', volumes: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'ResourceConflict', nonRetryable: true });
    expect((err as Error).message).toContain(
      `container "${SHARED}" exists but does not belong to citusctl cluster "it-own"`,
    );
  });

  it("the removal step refuses too and removes nothing: neither the other cluster's objects nor ours", async () => {
    const err = await drain
      .removeGroupContainers({ spec, primaries, group: 'g3', volumes: true })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'ResourceConflict', nonRetryable: true });
    expect(await exists('container', SHARED)).toBe(true);
    expect(await exists('volume', volumeName('it-own', 'g3-a'))).toBe(true);
    expect(await exists('container', containerName('it-own', 'g3-b'))).toBe(true);
  });

  it("once the name is free, the cluster's own containers and volumes are removed", async () => {
    await docker.getContainer(SHARED).remove({ force: true });
    await docker.getVolume(volumeName('it-own', 'g3-a')).remove();
    const r = await drain.removeGroupContainers({ spec, primaries, group: 'g3', volumes: true });
    expect(r.removedContainers).toEqual([containerName('it-own', 'g3-b')]);
    expect(r.removedVolumes).toEqual([volumeName('it-own', 'g3-b')]);
    expect(await exists('container', containerName('it-own', 'g3-b'))).toBe(false);
  });
});
