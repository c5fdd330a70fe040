/**
 * The preflight's capability verdict cache against the real Docker engine (no cluster, no ports):
 * an image that passes is checked in a throwaway container once, then known by its image ID (no
 * container the second time, seen in Docker's events); an image that fails is never cached.
 */
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import Docker from 'dockerode';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cachedImageCapabilityProblem, capabilityCacheFile } from '../../lib/docker/image-capability-cache';
import { testImages } from './support/cluster';
import { capabilityCheck } from '../../lib/docker/capability-check';

jest.setTimeout(120_000);

const docker = new Docker();
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-capcache-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Preflight containers Docker created while fn ran. */
async function preflightContainersCreatedDuring(fn: () => Promise<unknown>): Promise<number> {
  const seconds = () => (Date.now() / 1000).toFixed(3); // Docker takes fractions: calls a moment apart stay apart
  const since = seconds();
  await fn();
  const until = seconds();
  // With `until`, Docker ends the stream once it has sent the events up to then.
  const events = (await docker.getEvents({
    since: since as unknown as number,
    until: until as unknown as number,
    filters: { type: ['container'], event: ['create'], label: ['citusctl.preflight=true'] },
  })) as unknown as AsyncIterable<Buffer>;
  let text = '';
  for await (const chunk of events) text += chunk.toString();
  return text.split('\n').filter(Boolean).length;
}

const CHECK = capabilityCheck({ backups: true });

describe('capability verdict cache', () => {
  it('checks a passing image once, then knows it by its image ID', async () => {
    const image = testImages().postgres;
    expect(
      await preflightContainersCreatedDuring(async () => {
        expect(await cachedImageCapabilityProblem(docker, image, root, CHECK)).toBeUndefined();
      }),
    ).toBeGreaterThanOrEqual(1);
    const { Id } = await docker.getImage(image).inspect();
    expect(Object.keys(JSON.parse(fs.readFileSync(capabilityCacheFile(root), 'utf8')))).toEqual([
      expect.stringContaining(Id),
    ]);
    expect(
      await preflightContainersCreatedDuring(async () => {
        expect(await cachedImageCapabilityProblem(docker, image, root, CHECK)).toBeUndefined();
      }),
    ).toBe(0);
  });

  it('never caches a failing image: it is checked and explained every time', async () => {
    const noCitus = 'citusctl/postgres:17'; // plain PostgreSQL
    for (let i = 0; i < 2; i++)
      expect(await cachedImageCapabilityProblem(docker, noCitus, root, CHECK)).toMatch(
        /citus extension is not installed/,
      );
    const { Id } = await docker.getImage(noCitus).inspect();
    expect(fs.readFileSync(capabilityCacheFile(root), 'utf8')).not.toContain(Id);
  });
});
