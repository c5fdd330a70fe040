/** healthCheck's input: `{cluster}` (the schedule) or `{spec}`, and optional thresholds. */
import { z } from 'zod';
import { clusterRefRule, clusterRefShape } from './fields';

const nonNegative = z.number().min(0);

export const healthCheckInputSchema = z
  .strictObject({
    ...clusterRefShape,
    thresholds: z
      .strictObject({
        lagBytes: nonNegative.optional(),
        lagSeconds: nonNegative.optional(),
        slotRetainedBytes: nonNegative.optional(),
        diskUsedPercent: z.number().min(0).max(100).optional(),
        monitorStaleMs: nonNegative.optional(),
        poolMaxWaitSeconds: nonNegative.optional(),
        expiryDays: nonNegative.optional(),
        archiveLagSegments: nonNegative.optional(),
        repoUsedPercent: z.number().min(0).max(100).optional(),
      })
      .optional(),
  })
  .superRefine(...clusterRefRule(true));

export type HealthCheckInput = z.input<typeof healthCheckInputSchema>;
