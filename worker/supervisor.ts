/**
 * The supervised long-lived worker: a detached process (started by `citusctl up`, recorded in
 * `<state>/worker/supervisor.json`) that runs `worker/main.js` as its child and starts it again
 * whenever it exits, and keeps the embedded Temporal dev server running. The monitor workflow
 * needs a worker polling at all times; this keeps one there without the user running anything.
 *
 * Why a process and not a container: the worker drives this host's Docker and the cluster's
 * ports on 127.0.0.1 with the code the user built; a container would need the Docker socket, host
 * networking and an image rebuilt on every code change. compose/ runs the same worker/main.js in
 * a container with a restart policy for hosts that prefer that.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stateDir } from '../lib/state-dir';
import { supervisedWorkerState, supervisorFile, workerDir, writeJson, removeOwnRecord, type SupervisorRecord } from '../lib/supervised-worker-files';
import { ensureTemporal } from '../lib/temporal-server';
import { workerBuild } from './build-id';

const TEMPORAL_CHECK_MS = 3_000;
/** A worker that ran this long before exiting is restarted at once; quicker crashes back off. */
const STABLE_MS = 10_000;
const MAX_BACKOFF_MS = 15_000;

function log(line: string): void {
  process.stderr.write(`[citusctl supervisor ${new Date().toISOString()}] ${line}\n`);
}

async function main(): Promise<void> {
  const root = stateDir();
  const env = process.env;
  const running = supervisedWorkerState(root).supervisor;
  if (running && running.pid !== process.pid) {
    log(`another supervisor runs (pid ${running.pid}); leaving`);
    return;
  }
  fs.mkdirSync(workerDir(root), { recursive: true, mode: 0o700 });
  const record: SupervisorRecord = { pid: process.pid, build: workerBuild(), startedAt: new Date().toISOString(), restarts: 0 };
  writeJson(supervisorFile(root), record);

  let child: ChildProcess | undefined;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    log('stopping');
    child?.kill('SIGTERM');
    // The worker drains its activities first; not forever.
    setTimeout(() => child?.kill('SIGKILL'), 20_000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  // The embedded dev server (no TEMPORAL_ADDRESS) is ours to keep up; an external one is not.
  const keepTemporal = async () => {
    try {
      await ensureTemporal(root, env);
    } catch (err) {
      log(`Temporal: ${(err as Error).message}`);
    }
  };
  if (!env.TEMPORAL_ADDRESS) {
    await keepTemporal();
    const timer = setInterval(() => void (stopping ? undefined : keepTemporal()), TEMPORAL_CHECK_MS);
    timer.unref();
  }

  const workerMain = path.join(__dirname, 'main.js');
  let backoff = 1_000;
  while (!stopping) {
    const started = Date.now();
    child = spawn(process.execPath, [workerMain], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    log(`worker started (pid ${child.pid})`);
    const exit = await new Promise<string>((resolve) => child!.on('exit', (code, signal) => resolve(signal ?? `exit ${code}`)));
    if (stopping) break;
    record.restarts++;
    writeJson(supervisorFile(root), record);
    backoff = Date.now() - started >= STABLE_MS ? 1_000 : Math.min(backoff * 2, MAX_BACKOFF_MS);
    log(`worker ended (${exit}); starting it again in ${backoff} ms`);
    await new Promise((r) => setTimeout(r, backoff));
  }
  removeOwnRecord(supervisorFile(root), process.pid);
  log('stopped');
}

if (require.main === module) {
  // stdout/stderr are the log file the CLI opened for us (`<state>/worker/worker.log`).
  main().catch((err) => {
    log(`failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
}
