/**
 * Waiting for a server process we started (the embedded Temporal dev server) to accept
 * connections, for as long as it makes progress rather than a fixed time: on a loaded machine its
 * start can take minutes, and giving up while it still works only fails every command. Progress is
 * any of: its log grows, its files grow (the SQLite database), its process uses CPU. On failure the
 * error carries the last lines of its log, so the reason is on screen, not only a path.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';

export interface StartWaitOptions {
  port: number;
  /** The server's pid, when known (CPU time is read from /proc where there is one). */
  pid?: number;
  /** Files whose growth means progress (the log first: its tail goes into the error). */
  log: string;
  files?: string[];
  /** The process ended: stop waiting at once. */
  exited?: () => boolean;
  /** Give up after this long without any progress (default 30 s) ... */
  idleMs?: number;
  /** ... or after this long in all (default 10 min). */
  maxMs?: number;
  /** How much of the log belongs to this start (its size before the spawn). */
  logOffset?: number;
}

export type StartWaitResult = { ok: true } | { ok: false; reason: string; logTail: string };

export function canConnect(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const sizeOf = (file: string) => {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
};

/** utime + stime of a process in clock ticks (Linux); 0 where /proc does not tell. */
function cpuTicks(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** The last `lines` lines of a file from `offset` on (the whole file's tail when nothing was written since). */
export function logTail(file: string, lines = 20, offset = 0, maxBytes = 64 * 1024): string {
  try {
    const size = fs.statSync(file).size;
    const from = size > offset ? Math.max(offset, size - maxBytes) : Math.max(0, size - maxBytes);
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size - from);
      fs.readSync(fd, buf, 0, buf.length, from);
      return buf
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim())
        .slice(-lines)
        .join('\n');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

export async function waitForServerStart(opts: StartWaitOptions): Promise<StartWaitResult> {
  const idleMs = opts.idleMs ?? 30_000;
  const maxMs = opts.maxMs ?? 10 * 60_000;
  const started = Date.now();
  const mark = () => [opts.log, ...(opts.files ?? [])].map(sizeOf).join('/') + `/${cpuTicks(opts.pid)}`;
  let last = mark();
  let lastProgress = Date.now();
  const fail = (reason: string): StartWaitResult => ({
    ok: false,
    reason,
    logTail: logTail(opts.log, 20, opts.logOffset ?? 0),
  });
  for (;;) {
    if (await canConnect('127.0.0.1', opts.port)) return { ok: true };
    if (opts.exited?.()) return fail('the server process exited');
    const now = Date.now();
    const m = mark();
    if (m !== last) {
      last = m;
      lastProgress = now;
    }
    if (now - lastProgress > idleMs)
      return fail(`no progress for ${Math.round(idleMs / 1000)} s (its log, files and CPU time did not change)`);
    if (now - started > maxMs) return fail(`still not serving after ${Math.round(maxMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
