/**
 * The CLI's side of the supervised long-lived worker (worker/supervisor.ts): `up` makes sure one
 * runs for this state directory (started detached, restarted after a rebuild), commands use it
 * instead of an in-process worker once it polls, `down` stops it when no monitor needs it, and
 * `status` shows it.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidAlive, supervisedWorkerState, workerDir, workerLog } from '../lib/supervised-worker-files';
import { workerBuild } from '../worker/build-id';

const SUPERVISOR_MAIN = path.join(__dirname, '..', 'worker', 'supervisor.js');

export interface EnsureWorkerReport {
  pid: number;
  started: boolean;
  /** A supervisor of an earlier build was stopped first. */
  replaced: boolean;
}

/**
 * Starts the supervisor unless one of this build runs. It is detached from the CLI (its own
 * session, output to `<state>/worker/worker.log`) and inherits the CLI's environment, which holds
 * no secret (those are read from the state directory).
 */
export async function ensureSupervisedWorker(
  root: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<EnsureWorkerReport> {
  const { supervisor } = supervisedWorkerState(root);
  const build = workerBuild();
  if (supervisor && supervisor.build === build) return { pid: supervisor.pid, started: false, replaced: false };
  if (supervisor) {
    log(`worker: the supervised worker runs an earlier build (pid ${supervisor.pid}); restarting it`);
    await stopSupervisedWorker(root);
  }
  fs.mkdirSync(workerDir(root), { recursive: true, mode: 0o700 });
  const out = fs.openSync(workerLog(root), 'a', 0o600);
  const child = spawn(process.execPath, [SUPERVISOR_MAIN], { env, detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  child.unref();
  log(`worker: supervised worker started (pid ${child.pid}, log ${workerLog(root)})`);
  return { pid: child.pid!, started: true, replaced: !!supervisor };
}

/** A warm worker polls the task queues now: a command needs no in-process worker. */
export function warmWorker(root: string): boolean {
  const s = supervisedWorkerState(root);
  return !!s.supervisor && !!s.worker;
}

/** Waits (bounded) until the supervised worker polls; false when it did not in time. */
export async function waitForWarmWorker(root: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (warmWorker(root)) return true;
    await sleep(100);
  }
  return warmWorker(root);
}

/**
 * Waits until the supervised worker of the supervisor `supervisorPid` polls, for a command that lets
 * it run its workflow instead of loading an in-process worker beside it. False as soon as it is clear
 * that it will not poll in time (the command then loads its own after all): the supervisor is gone,
 * one of its workers ended while loading, the deadline passed, or the signal aborted the wait.
 */
export async function waitForSupervisedWorker(
  root: string,
  supervisorPid: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let restarts: number | undefined; // as first seen: the supervisor writes its record a moment after its spawn
  while (!signal?.aborted && pidAlive(supervisorPid) && Date.now() < deadline) {
    const { supervisor, worker } = supervisedWorkerState(root);
    if (supervisor?.pid === supervisorPid) {
      if (worker) return true;
      restarts ??= supervisor.restarts;
      if (supervisor.restarts !== restarts) return false;
    }
    await sleep(100, undefined, { signal }).catch(() => undefined);
  }
  return !signal?.aborted && warmWorker(root);
}

/** SIGTERM to the supervisor (it stops its worker first); waits for both to be gone. */
export async function stopSupervisedWorker(root: string, timeoutMs = 30_000): Promise<boolean> {
  const { supervisor, worker } = supervisedWorkerState(root);
  if (!supervisor) return false;
  process.kill(supervisor.pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && (pidAlive(supervisor.pid) || pidAlive(worker?.pid))) await sleep(100);
  return true;
}
