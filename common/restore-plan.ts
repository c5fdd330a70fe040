/**
 * The spec of a cluster restored from a backup: the backup's layout under the new name, each group's
 * member that was primary at the restore point listed first (it becomes the initial primary: its
 * restored data directory is the group's, the others are seeded from it), ports from the operator's
 * spec file or free ones. Pure: the restore workflow's decisions, unit-tested.
 */
import { COORDINATOR_GROUP } from './names';
import type { RestorePointRecord } from './backup-records';
import type { ClusterSpec, MemberSpec } from './spec';

export interface RestoredSpecOptions {
  /** The spec recorded with the backup (the source cluster's). */
  backupSpec: ClusterSpec;
  point: RestorePointRecord;
  /** The new cluster's name. */
  as: string;
  /** The operator's spec file for the new cluster (validated): its ports and settings. */
  given?: ClusterSpec;
  /** Free ports, as many as portsNeeded says, when they are to be picked (no `given` ports). */
  freePorts?: readonly number[];
  /** One member per group, backups disabled (a verification's throwaway cluster). */
  scratch?: boolean;
}

export type RestoredSpec = { ok: true; spec: ClusterSpec } | { ok: false; problems: string[] };

const groupsIn = (spec: ClusterSpec) => [COORDINATOR_GROUP, ...spec.workers];

/** Members per group, the point's primary first, in the backup's group order. */
export function primaryFirst(spec: ClusterSpec, primaries: Record<string, string>): MemberSpec[] {
  return groupsIn(spec).flatMap((g) => {
    const members = spec.members.filter((m) => m.group === g);
    const primary = primaries[g];
    const first = members.filter((m) => m.name === primary);
    return [...first, ...members.filter((m) => m.name !== primary)];
  });
}

/** How many host ports the new cluster publishes: every member, PgBouncer and etcd. */
export function portsNeeded(backupSpec: ClusterSpec, scratch = false): number {
  const members = scratch ? groupsIn(backupSpec).length : backupSpec.members.length;
  return members + 2;
}

export function restoredSpec(opts: RestoredSpecOptions): RestoredSpec {
  const { backupSpec, point, as, given } = opts;
  const problems: string[] = [];
  for (const g of groupsIn(backupSpec)) {
    const primary = point.groups[g]?.primary;
    if (!primary) problems.push(`restore point ${point.name} records no primary for group ${g}`);
    else if (!backupSpec.members.some((m) => m.name === primary && m.group === g))
      problems.push(`restore point ${point.name}: ${primary}, the primary of ${g}, is not in the backup's spec`);
  }
  const byName = new Map(given?.members.map((m) => [m.name, m]) ?? []);
  if (given) {
    const same =
      given.workers.join(',') === backupSpec.workers.join(',') &&
      given.members.length === backupSpec.members.length &&
      backupSpec.members.every((m) => byName.get(m.name)?.group === m.group);
    if (!same)
      problems.push(
        `the spec file's layout (groups ${given.workers.join(', ')}; members ` +
          `${given.members.map((m) => m.name).join(', ')}) is not the backup's ` +
          `(groups ${backupSpec.workers.join(', ')}; ` +
          `members ${backupSpec.members.map((m) => m.name).join(', ')}): a restore rebuilds the backup's layout`,
      );
  }
  if (problems.length) return { ok: false, problems };

  const primaries = Object.fromEntries(Object.entries(point.groups).map(([g, r]) => [g, r.primary]));
  let members = primaryFirst(backupSpec, primaries);
  if (opts.scratch) members = members.filter((m) => m.name === primaries[m.group]);
  const base: ClusterSpec = given
    ? // The operator's settings, the backup's layout and data (images, demo table).
      {
        ...given,
        workers: backupSpec.workers,
        images: { ...backupSpec.images, ...given.images },
        demo: backupSpec.demo,
      }
    : { ...backupSpec, backup: { ...backupSpec.backup, repository: ownRepository(backupSpec, as) } };
  let pgbouncerPort = base.pgbouncer.port;
  let etcdPort = base.etcd.port;
  if (opts.freePorts) {
    const need = portsNeeded(backupSpec, opts.scratch);
    if (opts.freePorts.length < need)
      return { ok: false, problems: [`${need} free ports needed, got ${opts.freePorts.length}`] };
    members = members.map((m, i) => ({ ...m, port: opts.freePorts![i]! }));
    pgbouncerPort = opts.freePorts[members.length]!;
    etcdPort = opts.freePorts[members.length + 1]!;
  } else if (given) {
    members = members.map((m) => ({ ...m, port: byName.get(m.name)!.port }));
  }
  return {
    ok: true,
    spec: {
      ...base,
      name: as,
      members,
      pgbouncer: { ...base.pgbouncer, port: pgbouncerPort },
      etcd: { ...base.etcd, port: etcdPort },
      // A lone member per group has no standby to wait for. A scratch cluster lives for one check: it
      // reads the source's repository, and has none of its own (no volume, stanzas, backup container,
      // archive or schedules).
      ...(opts.scratch ? { durability: 'async' as const, backup: { ...base.backup, enabled: false } } : {}),
    },
  };
}

/**
 * A cluster restored under a new name keeps the source's kind of repository, but never its S3 prefix
 * (two clusters writing one prefix would mix their stanzas): its own default, /citusctl/<new name>.
 */
function ownRepository(backupSpec: ClusterSpec, as: string): ClusterSpec['backup']['repository'] {
  const repo = backupSpec.backup.repository;
  if (repo.type !== 's3' || as === backupSpec.name || repo.path === undefined) return repo;
  const rest = { ...repo };
  delete rest.path;
  return rest;
}

/** The first `count` ports from `from` on that `isFree` accepts (consecutive where they can be). */
export async function pickPorts(
  count: number,
  isFree: (port: number) => Promise<boolean>,
  from = 25_432,
  to = 29_999,
): Promise<number[]> {
  const out: number[] = [];
  for (let p = from; p <= to && out.length < count; p++) if (await isFree(p)) out.push(p);
  if (out.length < count) throw new Error(`only ${out.length} of ${count} free ports between ${from} and ${to}`);
  return out;
}
