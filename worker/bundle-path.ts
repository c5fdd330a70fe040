/**
 * Where the bundled workflow code is: dist/workflow-bundle.js (written by `npm run build`), or the
 * file CITUSCTL_WORKFLOW_BUNDLE names. A worker, its supervisor and the CLI that starts them read the
 * same environment, so they agree on the build (worker/build-id.ts).
 */
import * as path from 'node:path';

export const WORKFLOW_BUNDLE_ENV = 'CITUSCTL_WORKFLOW_BUNDLE';
export const WORKFLOW_BUNDLE = path.join(__dirname, '..', 'workflow-bundle.js');

export function workflowBundlePath(env: NodeJS.ProcessEnv = process.env): string {
  return env[WORKFLOW_BUNDLE_ENV] ? path.resolve(env[WORKFLOW_BUNDLE_ENV]) : WORKFLOW_BUNDLE;
}
