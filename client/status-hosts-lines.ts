/**
 * Human lines of the hosts part of `citusctl status`. Apart from status-hosts.ts: the CLI loads these
 * at start, and must not load Docker's and Temporal's clients with them.
 */
import type { HostsStatus } from './status-hosts';

export function hostsStatusLines(s: HostsStatus): string[] {
  const lines = [`hosts (placement ${s.placement}):`];
  for (const h of s.hosts) {
    const engine = h.engine.reachable ? 'engine reachable' : `engine NOT reachable (${h.engine.error})`;
    const worker =
      h.workerPolling === undefined
        ? `worker unknown (${h.workerError})`
        : h.workerPolling
          ? `worker polls ${h.taskQueue}`
          : `NO WORKER polls ${h.taskQueue} (\`citusctl worker --host ${h.name}\` on that host)`;
    const runs = [...h.members, ...(h.pgbouncer ? ['pgbouncer'] : []), ...(h.etcd ? ['etcd'] : [])];
    lines.push(
      `  ${h.name.padEnd(12)} ${h.endpoint} (address ${h.address}): ${engine}; ${worker}; ` +
        `runs ${runs.length ? runs.join(', ') : 'nothing'}`,
    );
  }
  for (const n of s.notes) lines.push(`  note: ${n}`);
  return lines;
}
