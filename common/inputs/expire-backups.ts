/** expireBackupsWorkflow's input: `{cluster}` (a backup starts it so) or `{spec}`. */
import { z } from 'zod';
import { clusterRefRule, clusterRefShape } from './fields';

export const expireBackupsInputSchema = z.strictObject({ ...clusterRefShape }).superRefine(...clusterRefRule(true));

export type ExpireBackupsInput = z.input<typeof expireBackupsInputSchema>;
