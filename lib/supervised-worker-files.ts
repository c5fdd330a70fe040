/**
 * The supervised long-lived worker's files in the state directory (`<state>/worker/`):
 *   supervisor.json  written by the supervisor (pid, the build it runs, since when, its standby worker)
 *   worker.json      written by the worker once it polls (pid, identity, build, task queues, since when)
 *   worker.log       both processes' output
 *   standby-holds/   one empty file per `up` running a setup, named by its pid (holdStandby)
 *   monitor-holds/   likewise, while its setup's first steps run (holdMonitorWorker)
 * The CLI reads them to know whether a warm worker polls the task queues (then it needs no
 * in-process worker of its own) and `status` shows them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const workerDir = (root: string) => path.join(root, 'worker');
export const supervisorFile = (root: string) => path.join(workerDir(root), 'supervisor.json');
export const workerFile = (root: string) => path.join(workerDir(root), 'worker.json');
export const workerLog = (root: string) => path.join(workerDir(root), 'worker.log');
export const standbyHoldDir = (root: string) => path.join(workerDir(root), 'standby-holds');
export const monitorHoldDir = (root: string) => path.join(workerDir(root), 'monitor-holds');

export interface SupervisorRecord {
  pid: number;
  /** Identifies the code it runs (the workflow bundle's mtime): a rebuild restarts it. */
  build: string;
  startedAt: string;
  /** Worker restarts since the supervisor started. */
  restarts: number;
  /** The standby worker process: loaded, not polling, takes over when the polling one dies. */
  standbyPid?: number;
}

/** The Temporal identity of a worker process: the supervisor finds a dead worker's tasks by it. */
export const workerIdentity = (pid: number): string => `citusctl-worker@${pid}`;

export interface WorkerRecord {
  pid: number;
  identity: string;
  /** The workflow bundle's hash: the monitor queue it polls is named after it. */
  build?: string;
  taskQueues: string[];
  startedAt: string;
  /** The metrics endpoint, when the worker serves one. */
  metricsUrl?: string;
}

export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Written to a temp file then renamed: a reader never sees half a record. */
export function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Removes the record only if it is still the one this process wrote. */
export function removeOwnRecord(file: string, pid: number): void {
  if (readJson<{ pid: number }>(file)?.pid === pid) fs.rmSync(file, { force: true });
}

export function pidAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface SupervisedWorkerState {
  supervisor?: SupervisorRecord;
  /** The worker's record, only while its process lives. */
  worker?: WorkerRecord;
}

/** What runs now: records whose process is gone are left out. */
export function supervisedWorkerState(root: string): SupervisedWorkerState {
  const supervisor = readJson<SupervisorRecord>(supervisorFile(root));
  const worker = readJson<WorkerRecord>(workerFile(root));
  return {
    supervisor: supervisor && pidAlive(supervisor.pid) ? supervisor : undefined,
    worker: worker && pidAlive(worker.pid) ? worker : undefined,
  };
}

/**
 * `up` asks a supervisor it starts not to load its first standby worker while the setup runs:
 * loading one takes a CPU-second or more, which the setup needs, and no monitor runs yet that a
 * standby would serve. Returns the release. A hold whose process is gone (a CLI killed mid-setup)
 * counts for nothing.
 */
export function holdStandby(root: string, pid = process.pid): () => void {
  return hold(standbyHoldDir(root), pid);
}

/** Some live `up` holds the standby's start (stale holds are removed on the way). */
export function standbyHeld(root: string): boolean {
  return held(standbyHoldDir(root));
}

/**
 * `up` asks the supervised worker it starts not to load the monitor queue's Worker (two workflow
 * threads, each loading the bundle: ~0.8 CPU-second) while the setup's first steps run on that
 * worker's main thread; released once the setup creates containers. Stale holds count for nothing.
 */
export function holdMonitorWorker(root: string, pid = process.pid): () => void {
  return hold(monitorHoldDir(root), pid);
}

export function monitorWorkerHeld(root: string): boolean {
  return held(monitorHoldDir(root));
}

function hold(dir: string, pid: number): () => void {
  const file = path.join(dir, String(pid));
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, '', { mode: 0o600 });
  return () => fs.rmSync(file, { force: true });
}

function held(dir: string): boolean {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return false;
  }
  let live = false;
  for (const name of names) {
    const pid = Number(name);
    if (Number.isInteger(pid) && pidAlive(pid)) live = true;
    else fs.rmSync(path.join(dir, name), { force: true });
  }
  return live;
}
