/**
 * Pure naming and topology derivations from a spec. Deterministic: safe in workflows.
 * Names are stable across runs, which is what makes every step's check-then-act possible.
 */
import { COORDINATOR_GROUP } from './names';
import type { ClusterSpec, MemberSpec } from './spec';
import { InvariantError } from './workflow-failure';

/** The fixed names live in names.ts (spec.ts needs them too); re-exported here for callers. */
export {
  COORDINATOR_GROUP,
  PG_PORT,
  PGBOUNCER_PORT,
  ETCD_PORT,
  PGBOUNCER_MEMBER,
  ETCD_MEMBER,
  BACKUP_MEMBER,
  BACKUP_REPO_PATH,
  DATABASE,
  SUPERUSER,
  REPLICATION_USER,
  APP_USER,
} from './names';

export interface GroupTopology {
  group: string;
  isCoordinator: boolean;
  primary: MemberSpec;
  standbys: MemberSpec[];
}

export function groupsOf(spec: ClusterSpec): GroupTopology[] {
  return [COORDINATOR_GROUP, ...spec.workers].map((group) => {
    const members = spec.members.filter((m) => m.group === group);
    const [primary, ...standbys] = members;
    if (!primary) throw new InvariantError(`group ${group} has no members`);
    return { group, isCoordinator: group === COORDINATOR_GROUP, primary, standbys };
  });
}

export function coordinatorGroup(spec: ClusterSpec): GroupTopology {
  const g = groupsOf(spec)[0];
  if (!g) throw new InvariantError('no coordinator group');
  return g;
}

export function workerGroups(spec: ClusterSpec): GroupTopology[] {
  return groupsOf(spec).slice(1);
}

export function findMember(spec: ClusterSpec, name: string): MemberSpec {
  const m = spec.members.find((x) => x.name === name);
  if (!m) throw new InvariantError(`unknown member ${name}`);
  return m;
}

export const networkName = (cluster: string) => `citusctl-${cluster}`;
export const containerName = (cluster: string, member: string) => `citusctl-${cluster}-${member}`;
export const volumeName = (cluster: string, member: string) => `citusctl-${cluster}-${member}-data`;
/** One physical replication slot per standby, named after the standby (never after a role). */
/**
 * The backup repository's volume: not a member's data, so `down --volumes` keeps it (only
 * `down --volumes --backups` removes it): a cluster restored in place reads its backups from here.
 */
export const backupRepoVolumeName = (cluster: string) => `citusctl-${cluster}-backups`;

export const slotName = (member: string) => `citusctl_${member.replace(/-/g, '_')}`;

/** The live primary of every group, as decided by etcd (or the spec on a new cluster). */
export interface Primaries {
  coordinator: string;
  /** Worker group -> current primary member. */
  workers: Record<string, string>;
}

export const allPrimaries = (p: Primaries): string[] => [p.coordinator, ...Object.values(p.workers)];

export interface StandbyAssignment {
  group: string;
  primary: string;
  standby: string;
}

/** Every member that is not its group's live primary follows that primary. */
export function standbyAssignments(spec: ClusterSpec, primaries: Primaries): StandbyAssignment[] {
  return groupsOf(spec).flatMap((g) => {
    const primary = g.isCoordinator ? primaries.coordinator : primaries.workers[g.group];
    if (!primary) throw new InvariantError(`no primary known for group ${g.group}`);
    return [g.primary, ...g.standbys]
      .filter((m) => m.name !== primary)
      .map((m) => ({ group: g.group, primary, standby: m.name }));
  });
}

/** The spec once a drained worker group is gone: its name and its members removed. */
export function specWithoutGroup(spec: ClusterSpec, group: string): ClusterSpec {
  return {
    ...spec,
    workers: spec.workers.filter((g) => g !== group),
    members: spec.members.filter((m) => m.group !== group),
  };
}
