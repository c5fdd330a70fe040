/**
 * Stopping a running pgBackRest backup of one run in the container it runs in (a cancelled backup
 * workflow): its processes are found by the run's annotation on their command line, asked to stop
 * (SIGTERM: pgBackRest ends its session, so PostgreSQL aborts the backup, and exits, which releases
 * its lock), and killed if they are still there after a grace period. The partial backup it leaves
 * in the repository is resumed or removed by the next backup of the stanza (pgBackRest's resume).
 *
 * `pkill`/`pgrep` from procps (in the postgres images); idempotent: nothing to stop is success.
 */
import type Docker from 'dockerode';
import { execIn } from '../docker/docker-helpers';

export interface StopBackupOptions {
  /** How long SIGTERM has before SIGKILL. */
  graceMs?: number;
  /** How long to wait, in all, for no process of the run to be left. */
  timeoutMs?: number;
  pollMs?: number;
}

export interface StopBackupResult {
  /** Processes of the run found running when asked to stop. */
  signalled: number;
  /** Whether SIGKILL was needed. */
  killed: boolean;
}

/**
 * The extended regular expression (pgrep -f) matching the command lines of one run's backup of one
 * stanza: `... --stanza=<stanza> ... --annotation=<key>=<runId> ...`. Only letters, digits, `-`, `_`
 * and `.` are expected in its parts; anything else is escaped.
 */
export function backupProcessPattern(stanza: string, annotationKey: string, runId: string): string {
  const esc = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, (c) => `\\${c}`);
  return `pgbackrest .*--stanza=${esc(stanza)} .*--annotation=${esc(annotationKey)}=${esc(runId)}( |$)`;
}

async function pids(docker: Docker, container: string, pattern: string): Promise<number[]> {
  const r = await execIn(docker, container, ['pgrep', '-f', '--', pattern], 'postgres');
  if (r.exitCode === 1) return []; // no process matched
  if (r.exitCode !== 0) throw new Error(`pgrep in ${container}: exit ${r.exitCode}: ${r.stderr.trim()}`);
  return r.stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** Stops the run's backup processes in `container`; resolves once none is left (or throws after timeoutMs). */
export async function stopBackupProcesses(
  docker: Docker,
  container: string,
  pattern: string,
  opts: StopBackupOptions = {},
): Promise<StopBackupResult> {
  const graceMs = opts.graceMs ?? 5_000;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const pollMs = opts.pollMs ?? 200;
  const found = await pids(docker, container, pattern);
  if (!found.length) return { signalled: 0, killed: false };
  await execIn(docker, container, ['pkill', '-TERM', '-f', '--', pattern], 'postgres');
  const started = Date.now();
  let killed = false;
  for (;;) {
    const left = await pids(docker, container, pattern);
    if (!left.length) return { signalled: found.length, killed };
    const waited = Date.now() - started;
    if (waited >= timeoutMs)
      throw new Error(`pgBackRest backup processes ${left.join(', ')} in ${container} still run after ${waited} ms`);
    if (!killed && waited >= graceMs) {
      await execIn(docker, container, ['pkill', '-KILL', '-f', '--', pattern], 'postgres');
      killed = true;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
