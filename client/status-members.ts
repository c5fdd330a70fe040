/** The members part of `citusctl status`, from the one member observation (common/member-observation.ts). */
import { roleOf, type MemberReading } from '../common/member-observation';

export interface MemberStatus {
  name: string;
  group: string;
  container: string;
  state: string;
  role: 'primary' | 'standby' | 'unknown';
  timeline?: number;
  replication?: { standby: string; state: string; lagBytes: number; syncState: string }[];
  error?: string;
}

/** Only a running container's SQL is reported: a stopped member's refused connection says nothing new. */
export function memberStatus(
  member: { name: string; group: string },
  container: string,
  r: Pick<MemberReading, 'container' | 'sql'>,
): MemberStatus {
  const ms: MemberStatus = { name: member.name, group: member.group, container, state: r.container, role: 'unknown' };
  if (r.container !== 'running') return ms;
  if (!r.sql.ok) return { ...ms, error: r.sql.error };
  const role = roleOf(r.sql);
  return {
    ...ms,
    role,
    ...(r.sql.timeline !== null ? { timeline: r.sql.timeline } : {}),
    ...(role === 'primary'
      ? {
          replication: r.sql.replication.map((w) => ({
            standby: w.standby,
            state: w.state,
            lagBytes: w.lagBytes ?? 0,
            syncState: w.syncState,
          })),
        }
      : {}),
  };
}
