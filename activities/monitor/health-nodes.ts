/**
 * The health check's view of each PostgreSQL member: the one member observation
 * (lib/observation/member.ts: Docker's state of its container and the node's own SQL view) and
 * the disk use of its data volume, measured inside the container (`du` of the volume, `df` of its
 * filesystem). Each part is bounded by a deadline; what does not answer is reported, never thrown.
 */
import type { DiskUse, NodeObservation } from '../../common/health-observation';
import type { ClusterSpec, MemberSpec } from '../../common/spec';
import { containerName } from '../../common/topology';
import { errMessage, withDeadline } from '../../lib/deadline';
import { execIn } from '../../lib/docker/docker-helpers';
import { PG_VOLUME_TARGET } from '../../lib/docker/node-containers';
import { CHECK_BUDGET, observeMember } from '../../lib/observation/member';
import type { ActivityDeps } from '../deps';

const DISK_MS = 15_000;

/** `du -sb` then the `df -P -B1` line of the volume: "<bytes>\n<fs> <size> <used> <avail> <pct> <mount>". */
export function parseDiskOutput(stdout: string, path: string): DiskUse {
  const [du, df] = stdout.trim().split('\n');
  const used = Number(du?.split(/\s+/)[0]);
  const fields = df?.trim().split(/\s+/) ?? [];
  const size = Number(fields[1]);
  const avail = Number(fields[3]);
  if (![used, size, avail].every(Number.isFinite))
    return { ok: false, error: `unexpected du/df output: ${stdout.slice(0, 200)}` };
  return { ok: true, path, usedBytes: used, fsSizeBytes: size, fsAvailBytes: avail };
}

async function diskUse(deps: ActivityDeps, name: string): Promise<DiskUse> {
  const cmd = `du -sb ${PG_VOLUME_TARGET} 2>/dev/null | cut -f1; df -P -B1 ${PG_VOLUME_TARGET} | tail -n 1`;
  try {
    const r = await withDeadline(execIn(deps.docker, name, ['sh', '-c', cmd], '0'), DISK_MS, 'du/df');
    if (r.exitCode !== 0) return { ok: false, error: `du/df exited ${r.exitCode}: ${r.stderr.trim().slice(0, 200)}` };
    return parseDiskOutput(r.stdout, PG_VOLUME_TARGET);
  } catch (err) {
    return { ok: false, error: errMessage(err) };
  }
}

export async function observeNode(
  deps: ActivityDeps,
  spec: ClusterSpec,
  member: MemberSpec,
  password: string,
): Promise<NodeObservation> {
  const { container, sql } = await observeMember(deps, spec, member.name, password, CHECK_BUDGET);
  // Disk use needs a running container (docker exec).
  const disk =
    container === 'running'
      ? await diskUse(deps, containerName(spec.name, member.name))
      : { ok: false as const, error: `container ${container}` };
  return { member: member.name, container, sql, disk };
}
