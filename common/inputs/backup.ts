/** backupCluster's input: `{cluster}` (the schedule, the CLI) or `{spec}`. */
import { z } from 'zod';
import { clusterRefRule, clusterRefShape } from './fields';

export const backupClusterInputSchema = z.strictObject({ ...clusterRefShape }).superRefine(...clusterRefRule(true));

export type BackupClusterInput = z.input<typeof backupClusterInputSchema>;
