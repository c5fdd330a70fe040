/** Build step: bundles the workflows once, so workers start in well under a second. */
import { bundleWorkflowCode } from '@temporalio/worker';
import * as fs from 'node:fs';
import { WORKFLOW_BUNDLE } from './bundle-path';

async function main() {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error } as never,
  });
  fs.writeFileSync(WORKFLOW_BUNDLE, code);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
