/**
 * PgBouncer's admin console on EVERY process, as the admin user only the orchestrator knows
 * (commands: lib/postgres/pgbouncer-admin.ts). Several processes share one TCP port, where the kernel
 * picks which process answers, so each is then reached through its own unix socket inside the
 * container (lib/docker/exec-socket.ts, which needs perl in the image, as citusctl's has): PAUSE,
 * RESUME and RELOAD act on every process, and SHOW reads each. A single process is reached on the
 * published port over TLS (verified with the cluster's CA), which any PgBouncer image serves.
 */
import { Client } from 'pg';
import type { ClusterSpec } from '../../common/spec';
import { PGBOUNCER_MEMBER, PGBOUNCER_PORT, containerName } from '../../common/topology';
import { pgbouncerProcesses, pgbouncerSocketDir } from '../../common/pgbouncer-layout';
import { ExecSocket } from '../../lib/docker/exec-socket';
import { reload } from '../../lib/postgres/pgbouncer-admin';
import type { ActivityDeps } from '../deps';
import { PGBOUNCER_ADMIN_USER } from './pgbouncer';

export { bouncerDatabase } from '../../lib/postgres/pgbouncer-admin';

type AdminDeps = Pick<ActivityDeps, 'docker' | 'secrets' | 'tls'>;

/** A connected admin console of one process (the caller closes it with closeAdmin). */
export async function openBouncerAdmin(deps: AdminDeps, spec: ClusterSpec, process: number): Promise<Client> {
  const s = await deps.secrets.ensure(spec.name);
  const container = containerName(spec.name, PGBOUNCER_MEMBER);
  const socket = `${pgbouncerSocketDir(process)}/.s.PGSQL.${PGBOUNCER_PORT}`;
  const client = new Client({
    ...(spec.pgbouncer.processes === 1
      ? {
          host: '127.0.0.1',
          port: spec.pgbouncer.port,
          ssl: { ca: await deps.tls.trust(spec.name), servername: PGBOUNCER_MEMBER },
        }
      : { stream: () => new ExecSocket(deps.docker, container, socket) }),
    user: PGBOUNCER_ADMIN_USER,
    password: s.pgbouncerAdminPassword,
    database: 'pgbouncer',
    connectionTimeoutMillis: 5_000,
    application_name: 'citusctl',
  });
  client.on('error', () => undefined); // a dropped connection surfaces through the pending query
  await client.connect();
  return client;
}

/**
 * Closes a console; one whose query never answers (a PAUSE that another connection's RESUME
 * ended) is abandoned: its stream is destroyed, which ends the relay.
 */
export async function closeBouncerAdmin(c: Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    c.end().catch(() => undefined),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000))),
  ]);
  clearTimeout(timer);
  (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/** Opens every process's console, runs fn with them (index i is process i + 1), closes them all. */
export async function withBouncerAdmins<T>(
  deps: AdminDeps,
  spec: ClusterSpec,
  fn: (admins: Client[]) => Promise<T>,
): Promise<T> {
  const opened = await Promise.allSettled(pgbouncerProcesses(spec).map((p) => openBouncerAdmin(deps, spec, p)));
  const admins = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  try {
    const failed = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return await fn(admins);
  } finally {
    await Promise.all(admins.map(closeBouncerAdmin));
  }
}

/** fn on every process's console, in parallel, each through a connection of its own. */
export function onEveryBouncer<T>(
  deps: AdminDeps,
  spec: ClusterSpec,
  fn: (c: Client, process: number) => Promise<T>,
): Promise<T[]> {
  return Promise.all(
    pgbouncerProcesses(spec).map(async (p) => {
      const c = await openBouncerAdmin(deps, spec, p);
      try {
        return await fn(c, p);
      } finally {
        await closeBouncerAdmin(c);
      }
    }),
  );
}

/**
 * RELOAD on every process: each re-reads its config, the auth file and its TLS certificate and key
 * (after a re-point, or once new certificates are in place: installPgbouncerTls). Client sessions
 * stay connected.
 */
export async function reloadPgbouncer(deps: AdminDeps, spec: ClusterSpec): Promise<void> {
  await onEveryBouncer(deps, spec, (c) => reload(c));
}
