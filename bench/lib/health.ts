/**
 * A group's state as seen from outside: each member's container state and role, which members are
 * writable, and who streams from the writable one. A group is healthy when exactly one member is
 * writable (the one etcd names, when etcd is given) and every other member streams from it.
 */
import type { BenchCluster, ContainerState, Role } from './cluster';
import { sleep } from './util';

export interface MemberView {
  name: string;
  container: ContainerState;
  role: Role;
}

export interface GroupView {
  group: string;
  members: MemberView[];
  /** Members out of recovery. More than one is a split brain. */
  writable: string[];
  /** Standbys streaming from the writable member (when exactly one). */
  streaming: string[];
}

export async function observeGroup(cluster: BenchCluster, group: string): Promise<GroupView> {
  const members = await Promise.all(
    cluster.members(group).map(async (m): Promise<MemberView> => {
      const container = await cluster.containerState(m.name);
      const role: Role = container === 'running' ? await cluster.role(m.name) : 'down';
      return { name: m.name, container, role };
    }),
  );
  const writable = members.filter((m) => m.role === 'primary').map((m) => m.name);
  let streaming: string[] = [];
  if (writable.length === 1 && writable[0]) streaming = await cluster.streamingFrom(writable[0]).catch(() => []);
  return { group, members, writable, streaming };
}

/** Why the group is not healthy; empty when it is. */
export function groupProblems(v: GroupView, etcdPrimary?: string): string[] {
  const problems: string[] = [];
  if (v.writable.length === 0) problems.push(`${v.group}: no writable primary`);
  if (v.writable.length > 1)
    problems.push(`${v.group}: ${v.writable.length} writable members (${v.writable.join(', ')})`);
  if (etcdPrimary !== undefined && v.writable.length === 1 && v.writable[0] !== etcdPrimary)
    problems.push(`${v.group}: writable ${String(v.writable[0])} but etcd names ${etcdPrimary}`);
  if (v.writable.length === 1) {
    for (const m of v.members)
      if (m.name !== v.writable[0] && !v.streaming.includes(m.name))
        problems.push(`${v.group}: ${m.name} not streaming (container ${m.container}, ${m.role})`);
  }
  return problems;
}

const describeMember = (v: GroupView, m: GroupView['members'][number]): string =>
  `${m.name}=${m.container === 'running' ? m.role : m.container}${v.streaming.includes(m.name) ? '/streaming' : ''}`;

export const describeGroup = (v: GroupView): string =>
  `${v.group}: ${v.members.map((m) => describeMember(v, m)).join(' ')}`;

/** Waits until the group is healthy; returns its primary. */
export async function waitGroupHealthy(
  cluster: BenchCluster,
  group: string,
  timeoutMs = 180_000,
): Promise<{ primary: string; view: GroupView }> {
  const deadline = Date.now() + timeoutMs;
  let last: GroupView | undefined;
  for (;;) {
    last = await observeGroup(cluster, group).catch(() => last);
    if (last && !groupProblems(last).length && last.writable[0]) return { primary: last.writable[0], view: last };
    if (Date.now() > deadline)
      throw new Error(
        `${group} not healthy after ${timeoutMs} ms: ${last ? groupProblems(last).join('; ') : 'no observation'}`,
      );
    await sleep(500);
  }
}
