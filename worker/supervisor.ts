/**
 * The supervised long-lived worker: a detached process (started by `citusctl up`, recorded in
 * `<state>/worker/supervisor.json`) that runs `worker/main.js` as its children and keeps the
 * embedded Temporal dev server running. The monitor workflow needs a worker polling at all times;
 * this keeps one there without the user running anything.
 *
 * Two worker processes: the active one polls; the standby is started and loaded (modules,
 * connection, workflow bundle) but does not poll. When the active one dies the standby polls at
 * once, so no restart is waited for, and the supervisor hands the dead worker's tasks back to
 * Temporal (reap.ts) instead of letting them wait for their timeouts; a new standby is started in
 * the background (restart policy: common/worker-restart.ts). Why not two polling workers: each
 * process counts its own metrics, and /metrics is served by one.
 *
 * Why a process and not a container: the worker drives this host's Docker and the cluster's
 * ports on 127.0.0.1 with the code the user built; a container would need the Docker socket, host
 * networking and an image rebuilt on every code change. compose/ runs the same worker/main.js in
 * a container with a restart policy for hosts that prefer that.
 */
import type { Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { planAfterExit, type WorkerRole } from '../common/worker-restart';
import { stateDir } from '../lib/state-dir';
import {
  readJson,
  removeOwnRecord,
  standbyHeld,
  supervisedWorkerState,
  supervisorFile,
  workerDir,
  workerFile,
  workerIdentity,
  writeJson,
  type SupervisorRecord,
  type WorkerRecord,
} from '../lib/supervised-worker-files';
import { connectFailure, temporalConnectOptions } from '../lib/temporal-connection';
import { TASK_QUEUE, ensureTemporal, monitorTaskQueue, type TemporalEndpoint } from '../lib/temporal-server';
import { workerBuild, workflowBuild } from './build-id';
import { describeReap, reapDeadWorker } from './reap';
import { POLLING, TAKE_OVER, WORKER_ROLE_ENV } from './standby';

const TEMPORAL_CHECK_MS = 3_000;
/**
 * The second hand-back, for the monitor: a few seconds after the failover it started, which then has
 * the new worker to itself. It also catches what visibility listed late.
 */
const SECOND_LOOK_MS = 3_000;
const handBackLater = (workflowType: string) => workflowType === 'monitorCluster';
/** How often a standby held by a setup (standbyHeld) is looked for again. */
const HOLD_CHECK_MS = 500;

/*
 * The Temporal client is loaded only once the first worker has been started: the supervisor's own
 * start-up then costs that worker (and the setup `up` is waiting to run on it) no CPU time.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const temporalClient = () => require('@temporalio/client') as typeof import('@temporalio/client');
/* eslint-enable @typescript-eslint/no-require-imports */

function log(line: string): void {
  process.stderr.write(`[citusctl supervisor ${new Date().toISOString()}] ${line}\n`);
}

interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  role: WorkerRole;
  startedAt: number;
  polls: boolean;
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
  const record: SupervisorRecord = {
    pid: process.pid,
    build: workerBuild(),
    startedAt: new Date().toISOString(),
    restarts: 0,
  };
  writeJson(supervisorFile(root), record);

  const workers = new Set<WorkerProcess>();
  const withRole = (role: WorkerRole) => [...workers].find((w) => w.role === role);
  let stopping = false;
  let stopped: () => void = () => undefined;
  const allGone = new Promise<void>((resolve) => (stopped = resolve));
  const stop = () => {
    if (stopping) return;
    stopping = true;
    log('stopping');
    if (!workers.size) stopped();
    for (const w of workers) w.child.kill('SIGTERM');
    // The worker drains its activities first; not forever.
    setTimeout(() => workers.forEach((w) => w.child.kill('SIGKILL')), 20_000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  // The embedded dev server (no TEMPORAL_ADDRESS) is ours to keep up; an external one is not.
  let endpoint: TemporalEndpoint | undefined;
  const keepTemporal = async () => {
    try {
      endpoint = await ensureTemporal(root, env);
    } catch (err) {
      log(`Temporal: ${(err as Error).message}`);
    }
  };

  const saveRecord = () => {
    record.standbyPid = withRole('standby')?.pid;
    writeJson(supervisorFile(root), record);
  };

  /** Hands what a dead worker was running back to Temporal at once, rather than after its timeouts. */
  const handBack = async (dead: WorkerProcess) => {
    const recorded = readJson<WorkerRecord>(workerFile(root));
    const taskQueues =
      recorded?.pid === dead.pid ? recorded.taskQueues : [TASK_QUEUE, monitorTaskQueue(workflowBuild(env))];
    const identity = workerIdentity(dead.pid);
    if (!endpoint) return log(`worker ${dead.pid}: no Temporal endpoint known; its tasks wait for their timeouts`);
    let connection: Connection | undefined;
    try {
      const { Client, Connection } = temporalClient();
      const options = temporalConnectOptions(endpoint, env);
      connection = Connection.lazy({ ...options, connectTimeout: 5_000 });
      await connection.ensureConnected().catch(async (err: unknown) => {
        throw await connectFailure(options, err);
      });
      const client = new Client({ connection, namespace: endpoint.namespace });
      const done = new Set<string>();
      log(
        `worker ${dead.pid}: handed back ` +
          `${describeReap(await reapDeadWorker(client, { identity, taskQueues }, { later: handBackLater, done }))}`,
      );
      await new Promise((r) => setTimeout(r, SECOND_LOOK_MS));
      log(`worker ${dead.pid}: then ${describeReap(await reapDeadWorker(client, { identity, taskQueues }, { done }))}`);
    } catch (err) {
      log(
        `worker ${dead.pid}: could not hand its tasks back (${(err as Error).message}); they wait for their timeouts`,
      );
    } finally {
      await connection?.close().catch(() => undefined);
    }
  };

  const workerMain = path.join(__dirname, 'main.js');
  let delayMs = 0;
  let pending: NodeJS.Timeout | undefined;

  const promote = (w: WorkerProcess) => {
    w.role = 'active';
    w.child.send(TAKE_OVER, undefined, {}, (err) => {
      if (err) log(`standby ${w.pid}: ${err.message}`);
    });
    log(`standby ${w.pid} takes over`);
    saveRecord();
  };

  let holdCheck: NodeJS.Timeout | undefined;
  let hadStandby = false;
  /**
   * What is missing: an active worker (the standby if there is one), and a standby once the active
   * one polls. The first standby also waits while an `up` holds it back (its setup runs on the active
   * worker and needs the CPU); a replacement never waits: monitors may run by then.
   */
  const fill = () => {
    if (stopping || pending) return;
    const active = withRole('active');
    const standby = withRole('standby');
    if (!active && standby) promote(standby);
    else if (!active) start('active');
    else if (!standby && active.polls) {
      if (hadStandby || !standbyHeld(root)) start('standby');
      else holdCheck ??= setTimeout(() => ((holdCheck = undefined), fill()), HOLD_CHECK_MS).unref();
    }
  };

  const start = (role: WorkerRole) => {
    const child = spawn(process.execPath, [workerMain], {
      env: { ...env, [WORKER_ROLE_ENV]: role },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const w: WorkerProcess = { child, pid: child.pid ?? 0, role, startedAt: Date.now(), polls: false };
    workers.add(w);
    if (role === 'standby') hadStandby = true;
    child.on('message', (m) => {
      if (m !== POLLING) return;
      w.polls = true;
      fill();
      temporalClient(); // loaded now, so a worker's death later does not wait for it
    });
    child.on('error', (err) => log(`worker ${w.pid}: ${err.message}`));
    child.once('exit', (code, signal) => ended(w, signal ?? `exit ${code}`));
    log(`worker started (pid ${w.pid}, ${role})`);
    saveRecord();
  };

  const ended = (w: WorkerProcess, how: string) => {
    workers.delete(w);
    if (stopping) {
      if (!workers.size) stopped();
      return;
    }
    record.restarts++;
    const ranMs = Date.now() - w.startedAt;
    const plan = planAfterExit({
      role: w.role,
      ranMs,
      previousDelayMs: delayMs,
      standbyRunning: !!withRole('standby'),
    });
    delayMs = plan.startDelayMs;
    log(
      `worker ${w.pid} (${w.role}) ended (${how}) after ${Math.round(ranMs / 1000)} s; a new ${plan.startRole} ` +
        `in ${plan.startDelayMs} ms`,
    );
    if (plan.promoteStandby) promote(withRole('standby')!);
    if (w.role === 'active') void handBack(w);
    clearTimeout(pending);
    pending = setTimeout(() => {
      pending = undefined;
      fill();
    }, plan.startDelayMs);
    saveRecord();
  };

  // The worker first: it makes sure of the Temporal server itself, and loads while this process does.
  start('active');
  await keepTemporal();
  if (!env.TEMPORAL_ADDRESS) setInterval(() => void (stopping ? undefined : keepTemporal()), TEMPORAL_CHECK_MS).unref();
  await allGone;
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
