/** verifyBackup's input: `{cluster}` (the schedule, the CLI) or `{spec}`: that cluster's newest backup is proven. */
import { z } from 'zod';
import { clusterRefRule, clusterRefShape } from './fields';

export const verifyBackupInputSchema = z.strictObject({ ...clusterRefShape }).superRefine(...clusterRefRule(true));

export type VerifyBackupInput = z.input<typeof verifyBackupInputSchema>;
