/** Human lines for the control plane part of `citusctl status` (worker, Temporal, monitor). */
import type { ControlPlaneStatus } from './status-control-plane';

export function controlPlaneLines(cp: ControlPlaneStatus): string[] {
  const w = cp.worker;
  const worker = w.polling
    ? `worker: supervised, polling (pid ${w.workerPid}, ${w.standbyPid ? `standby ${w.standbyPid}` : 'no standby yet'}, supervisor ${w.supervisorPid}, ${w.restarts ?? 0} restarts, since ${w.since})${w.metricsUrl ? `, metrics ${w.metricsUrl}` : ''}`
    : w.supervised
      ? `worker: supervisor ${w.supervisorPid} runs, worker (re)starting; log ${w.log}`
      : 'worker: no supervised worker (`citusctl up` starts it; or run `citusctl worker`)';
  const temporal = cp.temporal.reachable ? `temporal: ${cp.temporal.address}` : `temporal: not reachable (${cp.temporal.reason})`;
  const m = cp.monitor;
  if (!m.running) return [worker, temporal, `monitor: not running (${m.reason})`];
  const maintenance = m.maintenance.cluster ? 'cluster paused' : Object.keys(m.maintenance.groups ?? {}).length ? `paused groups: ${Object.keys(m.maintenance.groups).join(', ')}` : 'active';
  const lines = [worker, temporal, `monitor: ${m.state}, ${maintenance}, policy ${m.policy}, last probe ${m.lastProbeAt ?? 'none yet'}${m.lastError ? `, last error: ${m.lastError}` : ''}`];
  for (const [g, s] of Object.entries(m.groups)) {
    const members = Object.entries(s.members).map(([name, state]) => `${name}=${state}`).join(' ');
    lines.push(`  ${g.padEnd(12)} primary ${s.primary ?? '?'} ${s.primaryState}; ${members}${s.notes.length ? `; ${s.notes.join('; ')}` : ''}`);
  }
  return lines;
}
