/**
 * The health check's view of each PostgreSQL member: Docker's state of its container, the node's
 * own SQL view (lib/postgres/health-queries.ts) and the disk use of its data volume, measured
 * inside the container (`du` of the volume, `df` of its filesystem). Each part is bounded by a
 * deadline; what does not answer is reported, never thrown.
 */
import type { ContainerStatus, DiskUse, NodeObservation, NodeSql } from '../../common/health-observation';
import type { ClusterSpec, MemberSpec } from '../../common/spec';
import { SUPERUSER, containerName } from '../../common/topology';
import { readNodeHealth } from '../../lib/postgres/health-queries';
import { errMessage, observeContainer, withDeadline } from './bounded';
import type { ActivityDeps } from '../deps';
import { execIn } from '../../lib/docker/docker-helpers';
import { PG_VOLUME_TARGET } from '../../lib/docker/node-containers';


const SQL_CONNECT_MS = 2_000;
const SQL_QUERY_MS = 5_000;
const DISK_MS = 15_000;

export function containerStatus(deps: ActivityDeps, name: string): Promise<ContainerStatus> {
  return observeContainer(deps.docker, name, 3_000);
}

/** `du -sb` then the `df -P -B1` line of the volume: "<bytes>\n<fs> <size> <used> <avail> <pct> <mount>". */
export function parseDiskOutput(stdout: string, path: string): DiskUse {
  const [du, df] = stdout.trim().split('\n');
  const used = Number(du?.split(/\s+/)[0]);
  const fields = df?.trim().split(/\s+/) ?? [];
  const size = Number(fields[1]);
  const avail = Number(fields[3]);
  if (![used, size, avail].every(Number.isFinite)) return { ok: false, error: `unexpected du/df output: ${stdout.slice(0, 200)}` };
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

async function nodeSql(deps: ActivityDeps, member: MemberSpec, password: string): Promise<NodeSql> {
  try {
    return await withDeadline(
      deps.pg.withClient({ port: member.port, user: SUPERUSER, password, connectTimeoutMs: SQL_CONNECT_MS, queryTimeoutMs: SQL_QUERY_MS }, readNodeHealth),
      SQL_CONNECT_MS + SQL_QUERY_MS,
      'SQL',
    );
  } catch (err) {
    return { ok: false, error: errMessage(err) };
  }
}

export async function observeNode(deps: ActivityDeps, spec: ClusterSpec, member: MemberSpec, password: string): Promise<NodeObservation> {
  const name = containerName(spec.name, member.name);
  const container = await containerStatus(deps, name);
  // Disk use needs a running container (docker exec); SQL is tried whatever Docker says.
  const [sql, disk] = await Promise.all([
    nodeSql(deps, member, password),
    container === 'running' ? diskUse(deps, name) : Promise.resolve<DiskUse>({ ok: false, error: `container ${container}` }),
  ]);
  return { member: member.name, container, sql, disk };
}
