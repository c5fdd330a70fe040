/**
 * Waiting for the embedded Temporal server: as long as it makes progress (not a fixed time), and
 * a failure that shows the last lines of its log. A stand-in server (a node process) plays each case.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { logTail, waitForServerStart } from '../../lib/server-start-wait';

jest.setTimeout(30_000);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-startwait-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });

/** A stand-in server: runs `script` (node) with its output appended to `log`. */
function start(script: string, log: string): ChildProcess {
  const fd = fs.openSync(log, 'a');
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  children.push(child);
  return child;
}

test('a server that starts slower than the idle window but keeps logging is waited for', async () => {
  const port = await freePort();
  const log = path.join(dir, 'slow.log');
  const child = start(
    `let i = 0; const t = setInterval(() => { console.log('migrating step ' + (++i)); if (i === 12) { ` +
      `clearInterval(t); require('net').createServer().listen(${port}, '127.0.0.1'); } }, 200);`,
    log,
  );
  // 12 steps of 200 ms: 2.4 s, four times the 600 ms a fixed timeout of that size would allow.
  const r = await waitForServerStart({
    port,
    pid: child.pid,
    log,
    idleMs: 600,
    maxMs: 20_000,
    exited: () => child.exitCode !== null,
  });
  expect(r).toEqual({ ok: true });
  child.kill();
});

test('a server that makes no progress is given up after the idle window, with its last log lines', async () => {
  const port = await freePort();
  const log = path.join(dir, 'stuck.log');
  fs.writeFileSync(log, 'an old line from an earlier start\n');
  const offset = fs.statSync(log).size;
  const child = start(`console.log('waiting for a lock that never comes'); setInterval(() => {}, 1000);`, log);
  const r = await waitForServerStart({
    port,
    log,
    logOffset: offset,
    idleMs: 800,
    maxMs: 20_000,
    exited: () => child.exitCode !== null,
  });
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.reason).toMatch(/^no progress for 1 s/);
  expect(r.logTail).toBe('waiting for a lock that never comes'); // this start's lines only
  child.kill();
});

test('a server that exits is reported at once with the reason from its log', async () => {
  const port = await freePort();
  const log = path.join(dir, 'exits.log');
  const child = start(`console.error('Error: unable to open database file: permission denied'); process.exit(1);`, log);
  const r = await waitForServerStart({
    port,
    log,
    idleMs: 10_000,
    maxMs: 20_000,
    exited: () => child.exitCode !== null,
  });
  expect(r).toMatchObject({ ok: false, reason: 'the server process exited' });
  expect(!r.ok && r.logTail).toMatch(/unable to open database file: permission denied/);
});

test('logTail: the last lines, blank ones skipped; the whole tail when nothing came after the offset', () => {
  const f = path.join(dir, 'tail.log');
  fs.writeFileSync(f, Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n\n') + '\n');
  expect(logTail(f, 3)).toBe('line 28\nline 29\nline 30');
  expect(logTail(f, 2, fs.statSync(f).size)).toBe('line 29\nline 30');
  expect(logTail(path.join(dir, 'missing.log'))).toBe('');
});
