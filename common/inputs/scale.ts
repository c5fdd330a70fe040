/** Inputs of rebalanceCluster and drainGroup. */
import { z } from 'zod';
import { clusterRefRule, clusterRefShape, flag, groupName, transferMode } from './fields';

export const rebalanceClusterInputSchema = z
  .strictObject({
    ...clusterRefShape,
    /** auto (default: logical moves, writes go on), force_logical, block_writes. */
    transferMode: transferMode.optional(),
  })
  .superRefine(...clusterRefRule(true));

export const drainGroupInputSchema = z
  .strictObject({
    ...clusterRefShape,
    group: groupName,
    /** Also delete the group's data volumes (default: kept). */
    volumes: flag.optional(),
    transferMode: transferMode.optional(),
  })
  .superRefine(...clusterRefRule(true));

export type RebalanceClusterInput = z.input<typeof rebalanceClusterInputSchema>;
export type DrainGroupInput = z.input<typeof drainGroupInputSchema>;
