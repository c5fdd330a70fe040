/** Where `npm run build` writes the bundled workflow code (dist/workflow-bundle.js). */
import * as path from 'node:path';

export const WORKFLOW_BUNDLE = path.join(__dirname, '..', 'workflow-bundle.js');
