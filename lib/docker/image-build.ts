/**
 * The offline image build (images/build.sh: citusctl/postgres:17, citusctl/pgbouncer:1,
 * citusctl/etcd:3.5 from Debian packages) run from a worker: its output goes to the worker's log
 * line by line, each line a sign of life for the caller's heartbeat. Idempotent: the script skips
 * images built from the same inputs.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';

/** images/build.sh from the source tree (lib/docker/) or from dist/lib/docker/. */
export function offlineBuildScript(): string | undefined {
  return [
    path.join(__dirname, '..', '..', 'images', 'build.sh'),
    path.join(__dirname, '..', '..', '..', 'images', 'build.sh'),
  ].find((f) => fs.existsSync(f));
}

/**
 * Runs the build; resolves when it succeeds, rejects naming the exit code and the last lines
 * otherwise. signal (the activity's cancellation) kills it: a rerun builds what was left unbuilt.
 */
export function runOfflineBuild(onLine: (line: string) => void, signal?: AbortSignal): Promise<void> {
  const script = offlineBuildScript();
  if (!script) return Promise.reject(new Error('images/build.sh is not shipped with this worker'));
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
    const tail: string[] = [];
    const take = (line: string) => {
      tail.push(line);
      if (tail.length > 5) tail.shift();
      onLine(line);
    };
    createInterface({ input: child.stdout }).on('line', take);
    createInterface({ input: child.stderr }).on('line', take);
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`images/build.sh exited with ${code}: ${tail.join(' | ')}`)),
    );
  });
}
