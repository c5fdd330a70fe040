/**
 * Whether a worker group may be drained: every check that could refuse a drain, decided before
 * anything is changed. Pure: safe in workflows, unit-tested.
 */

export interface WorkerGroupShards {
  group: string;
  /** Citus may place shards on it (pg_dist_node.shouldhaveshards). */
  shouldHaveShards: boolean;
  /** Shard placements it holds now. */
  placements: number;
}

export interface DrainTarget {
  group: string;
  /** Free bytes on the file system of its data directory. */
  freeBytes: number;
  /** That file system's id: targets on one file system (one Docker host) share its free space. */
  fileSystem: string;
}

export interface DrainCheckInput {
  group: string;
  workerGroups: WorkerGroupShards[];
  /** Bytes of the placements on the group being drained. */
  bytesToMove: number;
  /** The groups that will receive them, with the free space each has. */
  targets: DrainTarget[];
}

/**
 * Logical moves hold the shard twice until Citus drops the source copy (deferred), and the WAL of
 * the copy comes on top: a target needs more than its share.
 */
export const DRAIN_HEADROOM = 1.5;

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** The reason to refuse the drain, or undefined when it may go ahead. */
export function drainRefusal(input: DrainCheckInput): string | undefined {
  const { group } = input;
  if (!input.workerGroups.some((g) => g.group === group))
    return `${group} is not a worker group registered in Citus (only worker groups can be drained)`;
  const others = input.workerGroups.filter((g) => g.group !== group && g.shouldHaveShards);
  if (!others.length)
    return (
      `${group} is the last worker group that can hold shards: add a group (spec + citusctl up) before draining ` + 'it'
    );
  if (input.bytesToMove === 0) return undefined;
  const targets = input.targets.filter((t) => others.some((o) => o.group === t.group));
  if (!targets.length)
    return (
      `no free-space reading for the groups that would receive ${group}'s shards ` +
      `(${others.map((o) => o.group).join(', ')})`
    );
  // Each target takes an even share; targets on one file system draw on the same free space.
  const share = input.bytesToMove / targets.length;
  const byFs = new Map<string, { free: number; need: number; groups: string[] }>();
  for (const t of targets) {
    const fs = byFs.get(t.fileSystem) ?? { free: t.freeBytes, need: 0, groups: [] };
    fs.free = Math.min(fs.free, t.freeBytes);
    fs.need += share * DRAIN_HEADROOM;
    fs.groups.push(t.group);
    byFs.set(t.fileSystem, fs);
  }
  const short = [...byFs.values()].filter((fs) => fs.free < fs.need);
  if (short.length) {
    return `the remaining groups could not hold ${group}'s data (${mb(input.bytesToMove)}): ${short
      .map(
        (fs) =>
          `${fs.groups.join(', ')} need ${mb(fs.need)} free (with ${DRAIN_HEADROOM}x headroom), have ${mb(fs.free)}`,
      )
      .join('; ')}`;
  }
  return undefined;
}
