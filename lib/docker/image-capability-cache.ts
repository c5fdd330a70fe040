/**
 * The capability verdicts of images that passed, kept in the state directory by image ID and check:
 * an image (its content) that passed the same check passes it again, so neither the preflight nor
 * the setup's readiness runs the check again for it (a throwaway container, an exec per member).
 * A failure is never kept: it is checked (and explained) again.
 */
import type Docker from 'dockerode';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { imageCapabilityProblem } from './image-capability';

export const capabilityCacheFile = (root: string) => path.join(root, 'preflight', 'capable-images.json');

type Verdicts = Record<string, string>; // key (image ID + check) -> when it passed

const checkHash = (check: string) => createHash('sha256').update(check).digest('hex').slice(0, 16);
const key = (imageId: string, check: string) => `${imageId} ${checkHash(check)}`;

function read(file: string): Verdicts {
  try {
    const v: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Verdicts) : {};
  } catch {
    return {}; // none yet, or unreadable: check again
  }
}

/** The image with this ID passed this check before. */
export function capabilityPassed(root: string, imageId: string, check: string): boolean {
  return Boolean(read(capabilityCacheFile(root))[key(imageId, check)]);
}

/** Records that the image with this ID passed this check (written whole, then renamed into place). */
export function recordCapabilityPassed(root: string, imageId: string, check: string): void {
  const file = capabilityCacheFile(root);
  const verdicts = read(file);
  if (verdicts[key(imageId, check)]) return;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify({ ...verdicts, [key(imageId, check)]: new Date().toISOString() }), {
    mode: 0o600,
  });
  fs.renameSync(tmp, file);
}

/** imageCapabilityProblem, skipped for an image ID that passed this check before. */
export async function cachedImageCapabilityProblem(
  docker: Docker,
  image: string,
  root: string,
  check: string,
): Promise<string | undefined> {
  const { Id } = await docker.getImage(image).inspect();
  if (capabilityPassed(root, Id, check)) return undefined;
  const problem = await imageCapabilityProblem(docker, image, check);
  if (!problem) recordCapabilityPassed(root, Id, check);
  return problem;
}
