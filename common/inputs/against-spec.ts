/**
 * The input's groups and members checked against the cluster's (stored) spec, once it is read and
 * before anything is locked or changed. Each problem names its field.
 */
import { COORDINATOR_GROUP, type ClusterSpec } from '../spec';

export interface InputTargets {
  /** A group of the cluster (worker groups only when `workerGroup`). */
  group?: string;
  workerGroup?: boolean;
  /** A member of the cluster. */
  member?: string;
  /** A member of `group`. */
  to?: string;
  /** Members of `group`. */
  candidates?: readonly string[];
}

export function targetProblems(spec: ClusterSpec, t: InputTargets): string[] {
  const problems: string[] = [];
  const groups = [COORDINATOR_GROUP, ...spec.workers];
  const membersOf = (g: string) => spec.members.filter((m) => m.group === g).map((m) => m.name);
  if (t.group !== undefined) {
    if (t.workerGroup && t.group === COORDINATOR_GROUP)
      problems.push('group: the coordinator group cannot be drained (it holds the metadata)');
    else if (t.workerGroup && !spec.workers.includes(t.group))
      problems.push(
        `group: unknown worker group ${JSON.stringify(t.group)} (worker groups of ${spec.name}: ` +
          `${spec.workers.join(', ')})`,
      );
    else if (!groups.includes(t.group) || !membersOf(t.group).length)
      problems.push(`group: unknown group ${t.group} (groups of ${spec.name}: ${groups.join(', ')})`);
  }
  if (t.member !== undefined && !spec.members.some((m) => m.name === t.member)) {
    problems.push(
      `member: unknown member ${t.member} (members of ${spec.name}: ${spec.members.map((m) => m.name).join(', ')})`,
    );
  }
  const inGroup = t.group !== undefined && !problems.length ? membersOf(t.group) : undefined;
  if (inGroup && t.to !== undefined && !inGroup.includes(t.to))
    problems.push(`to: ${t.to} is not a member of ${t.group} (${inGroup.join(', ')})`);
  if (inGroup && t.candidates) {
    t.candidates.forEach((c, i) => {
      if (!inGroup.includes(c))
        problems.push(`candidates[${i}]: ${c} is not a member of ${t.group} (${inGroup.join(', ')})`);
    });
  }
  return problems;
}
