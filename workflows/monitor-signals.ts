/**
 * `reloadSpec`: the cluster's stored spec changed (a group added by `up`, drained away by `drain`):
 * the monitor finishes what it has in flight, then continues as new with the stored spec, so it
 * watches the new group, or stops watching (and re-creating) the removed one.
 *
 * `handOff`: a worker of another build took over (lib/monitor-handoff.ts): the monitor continues as
 * new on that build's queue at once, leaving its children (abandoned, on the shared queue) running.
 */
import { defineSignal, defineUpdate } from '@temporalio/workflow';
import { HAND_OFF_UPDATE, type HandOffAnswer, type HandOffInput } from '../common/monitor-handoff';

export const reloadSpecSignal = defineSignal('reloadSpec');
export const handOffUpdate = defineUpdate<HandOffAnswer, [HandOffInput]>(HAND_OFF_UPDATE);
