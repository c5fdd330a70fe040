/**
 * The monitor on several hosts. Its failovers, rejoins and durability changes run through workflows
 * and SQL that reach every host (their container steps on each member's host queue), and so does a
 * member's restart in monitors started since it was routed there (`restartOnHosts`: a standby whose
 * host came back is started by that host's worker); a re-creation of a member's container and a
 * repair of PgBouncer or etcd act through the monitor worker's own engine, which holds none of the
 * cluster's containers there: those are left out of the decision until they are routed to the
 * container's host. Pure: the probe and the workflow filter the decision here.
 */
import { isMultiHost } from './addressing';
import type { ClusterDecision, MonitorAction } from './monitor-decisions';
import type { PlacementInput } from './placement';

/** Actions that act through the engine of the worker that runs them. */
const ENGINE_ACTIONS: ReadonlyArray<MonitorAction['kind']> = [
  'restart',
  'recreate',
  'start-service',
  'recreate-service',
];

/** The decision as the monitor can carry it out on the spec's hosts: unchanged on one host. */
export function onItsHosts(
  spec: Pick<PlacementInput, 'hosts'>,
  d: ClusterDecision,
  restartOnHosts = false,
): ClusterDecision {
  if (!isMultiHost(spec)) return d;
  const actions = d.actions.filter((a) => !ENGINE_ACTIONS.includes(a.kind) || (restartOnHosts && a.kind === 'restart'));
  return actions.length === d.actions.length ? d : { ...d, actions };
}
