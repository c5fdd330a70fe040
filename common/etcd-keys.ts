/**
 * The etcd key layout, the only place a key is spelled. Everything of a cluster lives under
 * `/citusctl/<cluster>`:
 *
 *   topology                      the spec's topology document (written at setup)
 *   spec                          the whole validated spec, as the setup ran it
 *   groups/<group>/primary        the group's live primary (member name)
 *   groups/<group>/durability     synchronous or async commit, as the monitor last set it
 *   groups/<group>/last-failover  the group's latest failover or switchover event
 *   events/<group>/<id>           every failover or switchover event, keyed by its workflow
 *   members/<member>              the member's state (common/member-state.ts)
 *   locks/<group>                 the group's lease-bound lock
 *   maintenance                   the monitor's pause state
 *   health/last                   the last health report
 *
 * Pure: safe in workflows. Names (cluster, group, member) are validated by the spec.
 */

/** Above every cluster (an authenticated read of it proves etcd credentials). */
export const ETCD_ROOT = '/citusctl';

export const etcdPrefix = (cluster: string) => `${ETCD_ROOT}/${cluster}`;

export const topologyKey = (cluster: string) => `${etcdPrefix(cluster)}/topology`;
export const specKey = (cluster: string) => `${etcdPrefix(cluster)}/spec`;

export const groupsPrefix = (cluster: string) => `${etcdPrefix(cluster)}/groups/`;
/** Every key of one group (primary, durability, last failover). */
export const groupPrefix = (cluster: string, group: string) => `${groupsPrefix(cluster)}${group}/`;
export const primaryKey = (cluster: string, group: string) => `${groupsPrefix(cluster)}${group}/primary`;
export const durabilityKey = (cluster: string, group: string) => `${groupsPrefix(cluster)}${group}/durability`;
export const lastFailoverKey = (cluster: string, group: string) => `${groupsPrefix(cluster)}${group}/last-failover`;

/** Event ids come from workflow ids or times: anything but [A-Za-z0-9_.-] becomes '_'. */
export const eventId = (raw: string) => raw.replace(/[^A-Za-z0-9_.-]/g, '_');
export const groupEventsPrefix = (cluster: string, group: string) => `${etcdPrefix(cluster)}/events/${group}/`;
export const eventKey = (cluster: string, group: string, id: string) =>
  `${etcdPrefix(cluster)}/events/${group}/${eventId(id)}`;

export const membersPrefix = (cluster: string) => `${etcdPrefix(cluster)}/members/`;
export const memberStateKey = (cluster: string, member: string) => `${membersPrefix(cluster)}${member}`;

export const locksPrefix = (cluster: string) => `${etcdPrefix(cluster)}/locks/`;
export const lockKey = (cluster: string, group: string) => `${locksPrefix(cluster)}${group}`;

export const maintenanceKey = (cluster: string) => `${etcdPrefix(cluster)}/maintenance`;

export const healthReportKey = (cluster: string) => `${etcdPrefix(cluster)}/health/last`;

/**
 * The name a key under prefix stands for (the member of members/<m>, the group of locks/<g>); undefined for other keys.
 */
export function nameUnder(prefix: string, key: string): string | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const name = key.slice(prefix.length);
  return name && !name.includes('/') ? name : undefined;
}
