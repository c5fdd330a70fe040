/** setupCluster's input: `{spec}` (or `{}`: the default cluster), or `{cluster}` to rerun a stored one. */
import { z } from 'zod';
import { clusterRefRule, clusterRefShape, flag } from './fields';

export const setupClusterInputSchema = z
  .strictObject({
    ...clusterRefShape,
    /** Drop the demo table first (refused when other tables exist unless force). */
    clean: flag.optional(),
    force: flag.optional(),
    /** Rebalance onto worker groups that hold no shards yet (a group added to the spec); default true. */
    rebalance: flag.optional(),
    /**
     * The spec replaces the stored spec of an existing cluster (`citusctl up` of an edited spec file
     * says so). Without it, a spec that differs from the stored one is refused, naming the difference.
     */
    applySpecChange: flag.optional(),
    /**
     * The primaries' data directories were restored from a backup (restoreCluster): no clean-up, no
     * distribution or load of the demo table (the restored data is the cluster's).
     */
    restored: flag.optional(),
  })
  .superRefine(...clusterRefRule(false));

export type SetupClusterInput = z.input<typeof setupClusterInputSchema>;
