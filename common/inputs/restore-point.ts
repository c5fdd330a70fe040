/** restorePoint's input: `{cluster}` (the schedule, the CLI) or `{spec}`, the point's name, whether to count rows. */
import { z } from 'zod';
import { restorePointNameSchema } from '../backup-records';
import { clusterRefRule, clusterRefShape, flag } from './fields';

export const restorePointInputSchema = z
  .strictObject({
    ...clusterRefShape,
    /** Default: `rp-<UTC time of the run>`. */
    name: restorePointNameSchema.optional(),
    /** Hold writers for the window and record every Citus table's row count at the point (default true). */
    rowCounts: flag.optional(),
    /** Who asked: `manual` (default: the CLI, the UI) or `schedule` (the Schedule restore-point-<cluster>). */
    origin: z.enum(['manual', 'schedule']).optional(),
  })
  .superRefine(...clusterRefRule(true));

export type RestorePointInput = z.input<typeof restorePointInputSchema>;
