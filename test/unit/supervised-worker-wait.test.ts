/**
 * What `up` relies on to let the supervised worker run its setup: the standby hold the supervisor
 * honours, and the wait for the worker to poll that gives up (so `up` loads its own worker) as soon
 * as it is clear that worker will not come. Real files in a temporary state directory; this test
 * process's pid stands for a live supervisor or worker, an exited child's pid for a dead one.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  holdMonitorWorker,
  holdStandby,
  monitorWorkerHeld,
  standbyHeld,
  standbyHoldDir,
  supervisorFile,
  workerFile,
  writeJson,
  type SupervisorRecord,
} from '../../lib/supervised-worker-files';
import { waitForSupervisedWorker } from '../../client/supervised-worker';

/** A pid no process has any more (a child that ran and exited). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

const supervisor = (pid: number, restarts = 0): SupervisorRecord => ({
  pid,
  build: 'b',
  startedAt: new Date().toISOString(),
  restarts,
});
const worker = (pid: number) => ({
  pid,
  identity: `citusctl-worker@${pid}`,
  taskQueues: ['citusctl'],
  startedAt: new Date().toISOString(),
});

describe('standby hold', () => {
  let root: string;
  beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-hold-'))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('held while a live process holds it, not after its release', () => {
    expect(standbyHeld(root)).toBe(false);
    const release = holdStandby(root);
    expect(standbyHeld(root)).toBe(true);
    release();
    expect(standbyHeld(root)).toBe(false);
    release(); // twice is harmless
  });

  test("a dead process's hold counts for nothing and is cleared away", () => {
    holdStandby(root, deadPid());
    expect(standbyHeld(root)).toBe(false);
    expect(fs.readdirSync(standbyHoldDir(root))).toEqual([]);
  });

  test('one live hold among stale ones holds', () => {
    holdStandby(root, deadPid());
    const release = holdStandby(root);
    expect(standbyHeld(root)).toBe(true);
    release();
  });
});

describe('monitor worker hold', () => {
  let root: string;
  beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-mhold-'))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('held while a live process holds it, apart from the standby hold, and not when that process is gone', () => {
    expect(monitorWorkerHeld(root)).toBe(false);
    const release = holdMonitorWorker(root);
    expect(monitorWorkerHeld(root)).toBe(true);
    expect(standbyHeld(root)).toBe(false);
    release();
    expect(monitorWorkerHeld(root)).toBe(false);
    holdMonitorWorker(root, deadPid());
    expect(monitorWorkerHeld(root)).toBe(false);
  });
});

describe('waitForSupervisedWorker', () => {
  let root: string;
  beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-wait-'))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('true once the worker polls, also when the supervisor writes its record only after the wait began', async () => {
    const waiting = waitForSupervisedWorker(root, process.pid, 10_000);
    setTimeout(() => writeJson(supervisorFile(root), supervisor(process.pid)), 150);
    setTimeout(() => writeJson(workerFile(root), worker(process.pid)), 400);
    await expect(waiting).resolves.toBe(true);
  });

  test('false at once when the supervisor process is gone', async () => {
    const started = Date.now();
    await expect(waitForSupervisedWorker(root, deadPid(), 10_000)).resolves.toBe(false);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  test('false when a worker of the supervisor ends before one polls (it restarts it)', async () => {
    writeJson(supervisorFile(root), supervisor(process.pid, 2));
    const waiting = waitForSupervisedWorker(root, process.pid, 10_000);
    setTimeout(() => writeJson(supervisorFile(root), supervisor(process.pid, 3)), 300);
    await expect(waiting).resolves.toBe(false);
  });

  test('a worker record of a dead process is not a polling worker: false at the deadline', async () => {
    writeJson(supervisorFile(root), supervisor(process.pid));
    writeJson(workerFile(root), worker(deadPid()));
    await expect(waitForSupervisedWorker(root, process.pid, 300)).resolves.toBe(false);
  });

  test('false when aborted', async () => {
    writeJson(supervisorFile(root), supervisor(process.pid));
    const ended = new AbortController();
    const waiting = waitForSupervisedWorker(root, process.pid, 10_000, ended.signal);
    setTimeout(() => ended.abort(), 200);
    await expect(waiting).resolves.toBe(false);
  });
});
