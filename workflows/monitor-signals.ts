/**
 * `reloadSpec`: the cluster's stored spec changed (a group added by `up`, drained away by `drain`):
 * the monitor finishes what it has in flight, then continues as new with the stored spec, so it
 * watches the new group, or stops watching (and re-creating) the removed one.
 */
import { defineSignal } from '@temporalio/workflow';

export const reloadSpecSignal = defineSignal('reloadSpec');
