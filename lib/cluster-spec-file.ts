/**
 * The validated spec a setup stored in the state directory (`<state>/clusters/<name>/spec.json`),
 * so a workflow started with only `{ cluster }` finds the cluster's members, ports and images
 * (the etcd port among them: etcd itself cannot be asked before that). No secrets: the spec has none.
 */
import { randomBytes } from 'node:crypto';
import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { checkSpec, type ClusterSpec } from '../common/spec';
import { clustersDir, specPath } from './state-dir';

/** Writes the spec unless the file already holds exactly it (atomic replace); returns whether it wrote. */
export async function writeClusterSpec(root: string, cluster: string, spec: unknown): Promise<boolean> {
  const file = specPath(root, cluster);
  const text = JSON.stringify(spec, null, 2) + '\n';
  if ((await fs.readFile(file, 'utf8').catch(() => undefined)) === text) return false;
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fs.writeFile(tmp, text, { mode: 0o600 });
    await fs.rename(tmp, file);
  } finally {
    await fs.rm(tmp, { force: true });
  }
  return true;
}

/** The stored spec as JSON (the caller validates it); undefined when this state directory has none. */
export async function readClusterSpec(root: string, cluster: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(specPath(root, cluster), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as unknown;
}

/** The clusters set up in this state directory (those with a stored spec). */
export async function storedClusters(root: string): Promise<string[]> {
  const names = await fs.readdir(clustersDir(root)).catch(() => [] as string[]);
  const stored = await Promise.all(
    names.map(async (n) => ((await fs.stat(specPath(root, n)).catch(() => undefined))?.isFile() ? n : undefined)),
  );
  return stored.filter((n): n is string => n !== undefined).sort();
}

/** Every cluster of this state directory with a valid stored spec (an unreadable one is skipped). */
export function storedClusterSpecs(root: string): ClusterSpec[] {
  let names: string[];
  try {
    names = fsSync.readdirSync(clustersDir(root));
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    try {
      const r = checkSpec(JSON.parse(fsSync.readFileSync(specPath(root, name), 'utf8')) as unknown);
      return r.ok && r.spec.name === name ? [r.spec] : [];
    } catch {
      return [];
    }
  });
}
