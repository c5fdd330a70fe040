/** Which build of citusctl this is: the workflow bundle is rewritten by every `npm run build`. */
import * as fs from 'node:fs';
import { WORKFLOW_BUNDLE } from './bundle-path';

export function workerBuild(): string {
  try {
    return String(Math.round(fs.statSync(WORKFLOW_BUNDLE).mtimeMs));
  } catch {
    return 'unbundled';
  }
}
