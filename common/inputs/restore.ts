/**
 * restoreCluster's input: a new cluster `as` restored from the backups of `from` (default: `as`
 * itself, in place after `down --volumes`) to one named restore point, the newest point at or
 * before a time, or the newest point.
 */
import { z } from 'zod';
import { restorePointNameSchema } from '../backup-records';
import { clusterName, flag, specField } from './fields';

export const restoreTargetSchema = z.union([
  z.strictObject({ point: restorePointNameSchema }),
  z.strictObject({
    time: z.string().refine((t) => !Number.isNaN(Date.parse(t)), 'must be an ISO 8601 time'),
  }),
  z.strictObject({ latest: z.literal(true) }),
]);

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
