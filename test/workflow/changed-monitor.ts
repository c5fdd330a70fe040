/**
 * A build of the workflows whose monitor is changed incompatibly: one `await sleep('10ms')` at the
 * top of its loop, the edit that wedged running monitors before they got per-build task queues.
 * A copy of workflows/ and common/ in a temp dir, bundled like `npm run build` bundles the real ones.
 * Used by the monitor's replay test (the recorded history must not replay on it) and by the upgrade
 * integration test (a worker restarted on it must take the monitor over).
 */
import { bundleWorkflowCode } from '@temporalio/worker';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const LOOP = '  for (let i = 0; ; i++) {\n';
export const CHANGE = "    await sleep('10ms'); // the changed monitor\n";

/** Copies the workflow sources with the changed monitor; returns the copy's workflows entry point. */
export function changedMonitorSources(): { workflowsPath: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-changed-monitor-'));
  for (const d of ['workflows', 'common']) fs.cpSync(path.join(ROOT, d), path.join(dir, d), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const file = path.join(dir, 'workflows', 'monitor.ts');
  const source = fs.readFileSync(file, 'utf8');
  if (source.split(LOOP).length !== 2)
    throw new Error(
      `workflows/monitor.ts: the monitor's loop (${JSON.stringify(LOOP)}) is not there once: update this change`,
    );
  fs.writeFileSync(file, source.replace(LOOP, LOOP + CHANGE));
  return { workflowsPath: path.join(dir, 'workflows', 'index.ts'), dir };
}

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error } as never;

/** Writes the changed build's bundle to `outFile` (a worker runs it with CITUSCTL_WORKFLOW_BUNDLE). */
export async function writeChangedMonitorBundle(outFile: string): Promise<void> {
  const { workflowsPath, dir } = changedMonitorSources();
  try {
    const { code } = await bundleWorkflowCode({ workflowsPath, logger: quiet });
    if (!code.includes("sleep)('10ms')") && !code.includes("sleep('10ms')"))
      throw new Error('the changed monitor is not in the bundle');
    fs.writeFileSync(outFile, code);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
