/**
 * A writer that stays on one simulated host: psql inside a member's container over its local socket,
 * reached by `docker exec <host container> docker exec <member> ...` (the outer engine, then the
 * host's own: no path through the hosts network, so it keeps writing while the host is cut off).
 * It inserts `id` = 1, 2, ... one row per statement (autocommit: psql prints the id once the commit
 * is acknowledged) and the test timestamps each id as it reads it. It ends when the member's
 * container stops, after `maxSeconds`, or on stop() (a stop file: killing the outer docker exec
 * would leave the loop running in the container).
 */
import { spawn, spawnSync } from 'node:child_process';
import { sleep } from './cluster';

const STOP_FILE = '/tmp/isolated-writer.stop';

export interface IsolatedWriter {
  acked: number[];
  ackedAt: number[];
  /** Whatever psql printed that is not an id (its errors). */
  other: string[];
  /** Resolves when the writer has ended (its exit code). */
  ended: Promise<number | null>;
  stop(): Promise<void>;
}

export function isolatedWriter(
  hostContainer: string,
  memberContainer: string,
  table: string,
  maxSeconds = 300,
): IsolatedWriter {
  const script =
    `end=$(( $(date +%s) + ${maxSeconds} )); i=0; ` +
    `while [ "$(date +%s)" -lt "$end" ] && [ ! -e ${STOP_FILE} ]; do i=$((i+1)); ` +
    `psql -X -q -At -d postgres -c "INSERT INTO ${table} (id) VALUES ($i) RETURNING id" 2>&1; ` +
    'sleep 0.05; done';
  const inMember = (cmd: string[]) => [
    'exec',
    hostContainer,
    'docker',
    'exec',
    '-u',
    'postgres',
    memberContainer,
    ...cmd,
  ];
  const p = spawn('docker', inMember(['sh', '-c', `rm -f ${STOP_FILE}; ${script}`]), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const w: IsolatedWriter = {
    acked: [],
    ackedAt: [],
    other: [],
    ended: new Promise((resolve) => p.on('exit', (code) => resolve(code))),
    async stop() {
      if (p.exitCode === null) spawnSync('docker', inMember(['touch', STOP_FILE]), { timeout: 10_000 });
      await Promise.race([w.ended, sleep(5000)]);
      if (p.exitCode === null) p.kill('SIGTERM');
      await Promise.race([w.ended, sleep(5000)]);
    },
  };
  let partial = '';
  const read = (d: Buffer) => {
    const at = Date.now();
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (/^\d+$/.test(line.trim())) {
        w.acked.push(Number(line.trim()));
        w.ackedAt.push(at);
      } else if (line.trim()) w.other.push(line.trim());
    }
  };
  p.stdout!.on('data', read);
  p.stderr!.on('data', (d: Buffer) => w.other.push(d.toString().trim()));
  return w;
}
