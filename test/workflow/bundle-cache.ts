/**
 * The workflow bundle of workflows/, kept on disk between test files: webpack takes 5-8 s per
 * bundle and every workflow test file needs the same one (jest gives each file its own modules, so
 * a module-level cache lasts one file). The key is a hash of everything the bundle is made from:
 * every file under workflows/ and common/ (the only code workflows may import:
 * .dependency-cruiser.cjs), tsconfig.json and the SDK's versions. A changed source is a new key,
 * never a stale bundle.
 */
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const SOURCES = ['workflows', 'common'];
const SDK_PACKAGES = ['@temporalio/workflow', '@temporalio/worker', '@temporalio/common'];

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** The hash of the bundle's inputs (paths and contents). */
export function bundleKey(): string {
  const hash = createHash('sha256');
  const files = [...SOURCES.flatMap((d) => filesUnder(path.join(ROOT, d))), path.join(ROOT, 'tsconfig.json')];
  for (const f of files) hash.update(path.relative(ROOT, f)).update('\0').update(fs.readFileSync(f)).update('\0');
  for (const p of SDK_PACKAGES) hash.update(fs.readFileSync(require.resolve(`${p}/package.json`)));
  return hash.digest('hex').slice(0, 32);
}

/** The cached bundle for these sources, or `make()`'s, saved for the next file. */
export async function cachedBundle(
  make: () => Promise<WorkflowBundleWithSourceMap>,
): Promise<WorkflowBundleWithSourceMap> {
  const file = path.join(os.tmpdir(), `citusctl-workflow-bundle-${bundleKey()}.json`);
  try {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as WorkflowBundleWithSourceMap;
    if (typeof saved.code === 'string' && saved.code.length > 0) return saved;
  } catch {
    // none yet (or a partial file of a killed run: rebuilt)
  }
  const bundle = await make();
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(bundle));
  fs.renameSync(tmp, file);
  pruneOlderBundles(path.basename(file));
  return bundle;
}

/** Bundles of earlier sources (4 MB each): all but the few newest go (one read meanwhile is rebuilt). */
function pruneOlderBundles(keep: string, newest = 3): void {
  const dir = os.tmpdir();
  const others = fs
    .readdirSync(dir)
    .filter((f) => /^citusctl-workflow-bundle-[0-9a-f]+\.json$/.test(f) && f !== keep)
    .map((f) => ({ f, mtime: fs.statSync(path.join(dir, f), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const { f } of others.slice(newest - 1)) fs.rmSync(path.join(dir, f), { force: true });
}
