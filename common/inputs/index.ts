/**
 * One schema per workflow input, by workflow type. Each workflow checks its whole input against
 * its schema before its first activity (workflows/checked-input.ts); the CLI builds its inputs with
 * the same types and checks them before it starts a workflow.
 */
import type { z } from 'zod';
import { InputError, inputProblems } from './problems';
import {
  failoverGroupInputSchema,
  rejoinMemberInputSchema,
  switchoverGroupInputSchema,
  unfenceMemberInputSchema,
} from './group-operations';
import { backupClusterInputSchema } from './backup';
import { expireBackupsInputSchema } from './expire-backups';
import { rotateCertificatesInputSchema } from './certs';
import { healthCheckInputSchema } from './health';
import { monitorInputSchema } from './monitor';
import { drainGroupInputSchema, rebalanceClusterInputSchema } from './scale';
import { restoreClusterInputSchema } from './restore';
import { setupClusterInputSchema } from './setup';
import { verifyBackupInputSchema } from './verify-backup';
import { restorePointInputSchema } from './restore-point';

export const WORKFLOW_INPUT_SCHEMAS = {
  setupCluster: setupClusterInputSchema,
  failoverGroup: failoverGroupInputSchema,
  switchoverGroup: switchoverGroupInputSchema,
  rejoinMemberWorkflow: rejoinMemberInputSchema,
  unfenceMemberWorkflow: unfenceMemberInputSchema,
  drainGroup: drainGroupInputSchema,
  rebalanceCluster: rebalanceClusterInputSchema,
  healthCheck: healthCheckInputSchema,
  monitorCluster: monitorInputSchema,
  rotateCertificates: rotateCertificatesInputSchema,
  verifyBackup: verifyBackupInputSchema,
  restoreCluster: restoreClusterInputSchema,
  restorePoint: restorePointInputSchema,
  backupCluster: backupClusterInputSchema,
  expireBackupsWorkflow: expireBackupsInputSchema,
} as const satisfies Record<string, z.ZodType>;

export type WorkflowWithInput = keyof typeof WORKFLOW_INPUT_SCHEMAS;
export type WorkflowInput<W extends WorkflowWithInput> = z.input<(typeof WORKFLOW_INPUT_SCHEMAS)[W]>;

/** For the CLI: the input it built, as the workflow will check it; throws InputError naming each problem. */
export function workflowInput<W extends WorkflowWithInput>(workflow: W, input: WorkflowInput<W>): WorkflowInput<W> {
  const problems = inputProblems(WORKFLOW_INPUT_SCHEMAS[workflow], input);
  if (problems.length) throw new InputError(workflow, problems);
  return input;
}

export { checkInput, inputProblems, InputError } from './problems';
export * from './backup';
export * from './expire-backups';
export * from './certs';
export * from './group-operations';
export * from './health';
export * from './monitor';
export * from './restore';
export * from './scale';
export * from './setup';
export * from './verify-backup';
export * from './restore-point';
