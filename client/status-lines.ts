/**
 * Human lines of `citusctl status`: members, Citus workers, etcd, the control plane (worker, Temporal, monitor),
 * endpoints.
 */
import { describeStuck } from '../common/cluster-workflows';
import type { StatusReport } from './status';
import type { ControlPlaneStatus } from './status-control-plane';
import { backupStatusLines } from './status-backups';
import { hostsStatusLines } from './status-hosts-lines';

export function statusLines(report: StatusReport): string[] {
  const lines = [`cluster ${report.cluster}`];
  for (const m of report.members) {
    const repl = m.replication?.map((r) => `${r.standby}:${r.state}/${r.syncState} lag ${r.lagBytes}B`).join(', ');
    lines.push(
      `  ${m.name.padEnd(12)} ${m.group.padEnd(12)} ${m.role.padEnd(8)} ${m.state.padEnd(8)} ` +
        `${m.timeline ? `tl ${m.timeline} ` : ''}${repl ?? ''}${m.error ? ` (${m.error})` : ''}`,
    );
  }
  lines.push('citus workers:');
  for (const w of report.citusWorkers)
    lines.push(`  ${w.nodename}:${w.nodeport} ${w.noderole}${w.isactive ? '' : ' inactive'} shards=${w.shards}`);
  lines.push(`live primaries (etcd): ${JSON.stringify(report.livePrimaries)}`);
  for (const [g, f] of Object.entries(report.lastFailover)) lines.push(`last failover of ${g}: ${JSON.stringify(f)}`);
  lines.push(...controlPlaneLines(report.controlPlane));
  if (report.hosts) lines.push(...hostsStatusLines(report.hosts));
  if (report.backups) lines.push(...backupStatusLines(report.backups));
  for (const e of report.endpoints) lines.push(`  ${e.name.padEnd(12)} ${e.host}:${e.port} ${e.user}`);
  lines.push(`pgpass: ${report.pgpass}`);
  lines.push(`ca: ${report.caPath}`);
  const bouncer = report.endpoints.find((e) => e.name.startsWith('pgbouncer'));
  if (bouncer) lines.push(`clients: ${psqlLine(bouncer.port, bouncer.user, report.caPath, report.clients)}`);
  return lines;
}

/**
 * A verify-full psql command line: TLS required, the server's certificate checked against the cluster's CA
 * and against 127.0.0.1 (every server certificate names it). The password comes from PGPASSFILE.
 */
export function psqlLine(port: number, user: string, caPath: string, hosts = `host=127.0.0.1 port=${port}`): string {
  return `psql "${hosts} dbname=postgres user=${user} sslmode=verify-full sslrootcert=${caPath}"`;
}

/**
 * Workflows stuck on a failing workflow task, named first: while one is, its id is taken and nothing it does happens.
 */
function stuckLines(cp: ControlPlaneStatus): string[] {
  if (cp.stuckWorkflowsError) return [`workflows: could not check for stuck workflows (${cp.stuckWorkflowsError})`];
  return (cp.stuckWorkflows ?? []).map((w) => `STUCK workflow ${describeStuck(w)}`);
}

export function controlPlaneLines(cp: ControlPlaneStatus): string[] {
  const w = cp.worker;
  const worker = w.polling
    ? `worker: supervised, polling (pid ${w.workerPid}, ` +
      `${w.standbyPid ? `standby ${w.standbyPid}` : 'no standby yet'}, supervisor ${w.supervisorPid}, ` +
      `${w.restarts ?? 0} restarts, since ` +
      `${w.since}${w.build ? `, build ${w.build}` : ''})${w.metricsUrl ? `, metrics ${w.metricsUrl}` : ''}`
    : w.supervised
      ? `worker: supervisor ${w.supervisorPid} runs, worker (re)starting; log ${w.log}`
      : 'worker: no supervised worker (`citusctl up` starts it; or run `citusctl worker`)';
  const temporal = cp.temporal.reachable
    ? `temporal: ${cp.temporal.address}`
    : `temporal: not reachable (${cp.temporal.reason})`;
  const m = cp.monitor;
  const build = m.taskQueue ? `build ${m.build ?? `? (task queue ${m.taskQueue})`}` : '';
  // A monitor whose build no worker runs does nothing until a worker of its build polls, or `up` moves it.
  const stranded =
    m.taskQueue && !m.polled
      ? `: NO WORKER POLLS build ${m.build ?? m.taskQueue}; \`citusctl up\` moves it to this citusctl's build ` +
        `${m.cliBuild}`
      : '';
  if (!m.running)
    return [
      worker,
      temporal,
      `monitor: not running (${m.reason})${build ? `; ${build}${stranded}` : ''}`,
      ...stuckLines(cp),
    ];
  const maintenance = m.maintenance.cluster
    ? 'cluster paused'
    : Object.keys(m.maintenance.groups ?? {}).length
      ? `paused groups: ${Object.keys(m.maintenance.groups).join(', ')}`
      : 'active';
  const lines = [
    worker,
    temporal,
    ...stuckLines(cp),
    `monitor: ${m.state}, ${maintenance}, policy ${m.policy}, ${build}${stranded}, last probe ` +
      `${m.lastProbeAt ?? 'none yet'}${m.lastError ? `, last error: ${m.lastError}` : ''}`,
  ];
  for (const [g, s] of Object.entries(m.groups)) {
    const members = Object.entries(s.members)
      .map(([name, state]) => `${name}=${state}`)
      .join(' ');
    lines.push(
      `  ${g.padEnd(12)} primary ${s.primary ?? '?'} ${s.primaryState}; ` +
        `${members}${s.notes.length ? `; ${s.notes.join('; ')}` : ''}`,
    );
  }
  return lines;
}
