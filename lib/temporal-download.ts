/**
 * A machine with Docker and Node but no Temporal CLI: the dev server is obtained the way the
 * Temporal SDK's own local test environment does it (TestWorkflowEnvironment.createLocal with a
 * cached download), once, into the state directory; citusctl then runs that binary as its embedded
 * server. Where nothing can be downloaded the caller keeps its clear message, with the reason.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Fetches the dev server into dir (or finds it there) and returns the binary's path. */
export type DevServerDownloader = (dir: string) => Promise<string>;

const DOWNLOAD_TIMEOUT_MS = 5 * 60_000;

/** A `temporal*` executable file the SDK's download left in dir. */
export function downloadedBinary(dir: string): string | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const name of names.filter((n) => n.startsWith('temporal')).sort()) {
    const p = path.join(dir, name);
    try {
      if (fs.statSync(p).isFile()) {
        fs.accessSync(p, fs.constants.X_OK);
        return p;
      }
    } catch {
      // not it
    }
  }
  return undefined;
}

export const downloadDevServer: DevServerDownloader = async (dir) => {
  const found = downloadedBinary(dir);
  if (found) return found;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Loaded only here: the SDK's testing package downloads (and briefly runs) the server it picks for this SDK version.
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${DOWNLOAD_TIMEOUT_MS / 1000} s`)),
      DOWNLOAD_TIMEOUT_MS,
    );
  });
  try {
    const env = await Promise.race([
      TestWorkflowEnvironment.createLocal({
        server: { executable: { type: 'cached-download', downloadDir: dir, ttl: '3650 days' } },
      }),
      timeout,
    ]);
    await env.teardown();
  } finally {
    clearTimeout(timer);
  }
  const binary = downloadedBinary(dir);
  if (!binary) throw new Error(`the download left no temporal binary in ${dir}`);
  return binary;
};
