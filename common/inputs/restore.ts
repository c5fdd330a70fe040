/**
 * restoreCluster's input: a new cluster `as` restored from the backups of `from` (default: `as`
 * itself, in place after `down --volumes`) to one named restore point, the newest point at or
 * before a time, or the newest point.
 */
import { z } from 'zod';
import { restorePointNameSchema, type RestoreTarget } from '../backup-records';
import { clusterName, flag, specField } from './fields';

/** Exactly one of: a point's name, a time (the newest point at or before it), or the newest point. */
export const restoreTargetSchema = z
  .strictObject({
    point: restorePointNameSchema.optional(),
    time: z
      .string()
      .refine((t) => !Number.isNaN(Date.parse(t)), 'must be an ISO 8601 time')
      .optional(),
    latest: z.literal(true).optional(),
  })
  .refine((t) => [t.point, t.time, t.latest].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of {"point": NAME}, {"time": ISO 8601}, {"latest": true}',
  }) as unknown as z.ZodType<RestoreTarget, RestoreTarget>;

export const restoreClusterInputSchema = z.strictObject({
  /** The new cluster's name. */
  as: clusterName,
  /** The cluster whose backup repository is read (default: `as`, a restore in place). */
  from: clusterName.optional(),
  target: restoreTargetSchema,
  /**
   * The new cluster's spec (`--config`): its ports and settings; its layout must be the backup's
   * (the same groups and members). Its name is `as` whatever it says. Left out: the backup's spec.
   */
  spec: specField.optional(),
  /** Pick free 127.0.0.1 ports for every member, PgBouncer and etcd (default: true without `spec`). */
  freePorts: flag.optional(),
  /** A verification's scratch cluster: one member per group (no standbys). */
  scratch: flag.optional(),
});

export type RestoreClusterInput = z.input<typeof restoreClusterInputSchema>;
