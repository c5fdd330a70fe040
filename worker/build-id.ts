/**
 * Which build of citusctl this is, two ways:
 * - workflowBuild(): a hash of the workflow bundle's content. The monitor's task queue is named
 *   after it (common/task-queues.ts), so a rebuild that leaves the workflow code as it was keeps the
 *   monitor where it runs, and any change to it moves the monitor to a fresh run on the new code.
 * - workerBuild(): the bundle's mtime, rewritten by every `npm run build`. The supervised worker is
 *   restarted when it changes (activities are not in the bundle and change too).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { workflowBundlePath } from './bundle-path';

export function workerBuild(env: NodeJS.ProcessEnv = process.env): string {
  try {
    return String(Math.round(fs.statSync(workflowBundlePath(env)).mtimeMs));
  } catch {
    return 'unbundled';
  }
}

/** Hashes cached per file, size and mtime: the CLI asks more than once, the bundle is ~2 MB. */
const hashes = new Map<string, string>();

/** 16 hex digits of the bundle's SHA-256; `unbundled` when there is no bundle (workflows loaded from source). */
export function workflowBuild(env: NodeJS.ProcessEnv = process.env): string {
  const file = workflowBundlePath(env);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return 'unbundled';
  }
  const key = `${file}:${stat.size}:${stat.mtimeMs}`;
  let hash = hashes.get(key);
  if (!hash) {
    hash = createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 16);
    hashes.set(key, hash);
  }
  return hash;
}
