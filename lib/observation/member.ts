/**
 * One observation of a PostgreSQL member: Docker's state of its container and the member's own
 * SQL view (lib/postgres/member.ts), read at the same time, each bounded by a deadline. What does
 * not answer is data (`unknown`, `ok: false`), never an exception. The monitor's probe, the health
 * check and `citusctl status` all observe members here; they differ only in their budgets.
 */
import { addressOf } from '../../common/addressing';
import type Docker from 'dockerode';
import type { ContainerStatus, MemberReading, MemberSql } from '../../common/member-observation';
import type { ClusterSpec } from '../../common/spec';
import { SUPERUSER, containerName } from '../../common/topology';
import { errMessage, withDeadline } from '../deadline';
import { observeContainer } from '../docker/container-status';
import type { PgConnector } from '../pg-connector';
import { readMember } from '../postgres/member';
import { memberTls, type TrustSource } from '../tls/pg-tls';

export interface ObserveBudget {
  containerMs: number;
  /** The SQL part: connect, then query; the whole is bounded by their sum. */
  connectMs: number;
  queryMs: number;
}

/** The monitor's probe: every interval, so short; a round is bounded by the interval plus this. */
export const PROBE_BUDGET: ObserveBudget = { containerMs: 1_000, connectMs: 500, queryMs: 1_000 };

/** The health check and `citusctl status`: once, so a slow member still gets its say. */
export const CHECK_BUDGET: ObserveBudget = { containerMs: 3_000, connectMs: 2_000, queryMs: 5_000 };

export interface MemberObserverDeps {
  docker: Docker;
  pg: PgConnector;
  /** The cluster's trust bundle: a member proves its name with a certificate from the cluster's CA. */
  tls: TrustSource;
}

async function observeSql(
  deps: MemberObserverDeps,
  spec: ClusterSpec,
  member: { name: string; port: number },
  password: string,
  budget: ObserveBudget,
): Promise<{ sql: MemberSql; sqlMs: number }> {
  const started = Date.now();
  const read = async () => {
    const target = {
      host: addressOf(spec, member.name),
      port: member.port,
      user: SUPERUSER,
      password,
      tls: await memberTls(deps.tls, spec.name, member.name),
      connectTimeoutMs: budget.connectMs,
      queryTimeoutMs: budget.queryMs,
    };
    return deps.pg.withClient(target, readMember);
  };
  const sql = await withDeadline(read(), budget.connectMs + budget.queryMs, 'SQL probe').catch(
    (err: unknown): MemberSql => ({ ok: false, error: errMessage(err) }),
  );
  return { sql, sqlMs: Date.now() - started };
}

/** SQL is tried whatever Docker says: Docker may not answer, and a member may serve while Docker lags. */
export async function observeMember(
  deps: MemberObserverDeps,
  spec: ClusterSpec,
  member: string,
  password: string,
  budget: ObserveBudget,
  /** Docker's word from its events (the monitor's probe): no inspect, which a dying container holds up. */
  knownContainer?: ContainerStatus,
  /** Told SQL's answer as soon as it comes, before Docker's (which a dead host's engine holds up). */
  onSql?: (sql: MemberSql) => void,
): Promise<MemberReading> {
  const m = spec.members.find((x) => x.name === member);
  if (!m) throw new Error(`${member} is not a member of cluster ${spec.name}`);
  const [container, sql] = await Promise.all([
    knownContainer ?? observeContainer(deps.docker, containerName(spec.name, member), budget.containerMs),
    observeSql(deps, spec, m, password, budget).then((r) => {
      onSql?.(r.sql);
      return r;
    }),
  ]);
  return { member, container, ...sql };
}
