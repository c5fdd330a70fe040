/**
 * How PgBouncer runs in its container (pure): `processes` PgBouncer processes share the one TCP port
 * (so_reuseport), each with its own unix socket directory, through which the others forward cancel
 * requests to it (peering) and through which citusctl reaches that one process's admin console.
 */
import type { ClusterSpec } from './spec';

/** Process numbers 1..N (PgBouncer's peer_id: 1 and up). */
export function pgbouncerProcesses(spec: ClusterSpec): number[] {
  return Array.from({ length: spec.pgbouncer.processes }, (_, i) => i + 1);
}

/** Each process's unix socket directory (its peer address; the image's /var/run/postgresql is writable). */
export const pgbouncerSocketDir = (process: number) => `/var/run/postgresql/pgbouncer-${process}`;

/** Server connections each process may open to the coordinator (the spec's pool is shared evenly). */
export const poolSizePerProcess = (spec: ClusterSpec) => Math.floor(spec.pgbouncer.poolSize / spec.pgbouncer.processes);

/** File descriptors beyond clients and servers: listen and unix sockets, admin and peer connections, logs, DNS. */
const FD_RESERVE = 256;

/**
 * The container's file-descriptor limit (RLIMIT_NOFILE, which binds each process on its own): every
 * client a process accepts, its server connections, and a reserve.
 */
export function pgbouncerFdLimit(spec: ClusterSpec): number {
  return spec.pgbouncer.maxClientConn + poolSizePerProcess(spec) + FD_RESERVE;
}
