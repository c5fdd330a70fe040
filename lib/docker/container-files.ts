/**
 * Reading and replacing a running container's files through Docker's archive API (no bind mounts,
 * no secrets in arguments or environment). A replaced file keeps the owner and mode of the one it
 * replaces: whoever installed it first (the role's own setup) decided who may read it, e.g. a
 * PostgreSQL key owned by postgres with mode 0600.
 *
 * Replacement is staged: the new files land beside the old ones under a temporary name and are
 * renamed over them inside the container, so a process opening a file sees the old content or the
 * new, never a missing or half-written one (Docker's own extraction removes a file before it
 * writes the new one). A container without a shell (the upstream etcd image) gets the files
 * directly.
 */
import type Docker from 'dockerode';
import * as path from 'node:path';
import { extract } from 'tar-stream';
import { execIn, tarOf } from './docker-helpers';

export interface ContainerFile {
  content: string;
  uid: number;
  gid: number;
  mode: number;
}

const isNotFound = (err: unknown) => (err as { statusCode?: number }).statusCode === 404;

/** The file as the container holds it (content, owner, mode), or undefined when it has none. */
export async function readContainerFile(
  docker: Docker,
  container: string,
  file: string,
): Promise<ContainerFile | undefined> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.getContainer(container).getArchive({ path: file });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  return new Promise((resolve, reject) => {
    const x = extract();
    let found: ContainerFile | undefined;
    x.on('entry', (header, body, next) => {
      const chunks: Buffer[] = [];
      body.on('data', (c: unknown) => chunks.push(c as Buffer));
      body.on('end', () => {
        if (!found && header.type === 'file')
          found = {
            content: Buffer.concat(chunks).toString('utf8'),
            uid: header.uid ?? 0,
            gid: header.gid ?? 0,
            mode: (header.mode ?? 0o644) & 0o7777,
          };
        next();
      });
      body.resume();
    });
    x.on('finish', () => resolve(found));
    x.on('error', reject);
    stream.on('error', reject);
    stream.pipe(x);
  });
}

const NO_SHELL = /executable file not found|no such file or directory/i;
const STAGED_PREFIX = '.next-';
const staged = (file: string) => path.posix.join(path.posix.dirname(file), STAGED_PREFIX + path.posix.basename(file));
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Writes `files` (absolute paths, in the order given: they are renamed into place in that order)
 * into the container, which may be running or stopped. Staged renames need a running container
 * with a shell; otherwise the files are written in place.
 */
export async function replaceContainerFiles(
  docker: Docker,
  container: string,
  files: Record<string, ContainerFile>,
  running: boolean,
): Promise<{ staged: boolean }> {
  const c = docker.getContainer(container);
  if (running) {
    const stagedFiles = Object.fromEntries(Object.entries(files).map(([f, v]) => [staged(f), v]));
    await c.putArchive(await tarOf(stagedFiles, { directories: false }), { path: '/' });
    const script = Object.keys(files)
      .map((f) => `mv -f ${quote(staged(f))} ${quote(f)}`)
      .join(' && ');
    const r = await execIn(docker, container, ['/bin/sh', '-c', script], '0').catch((err: unknown) => ({
      exitCode: -1,
      stdout: '',
      stderr: (err as Error).message ?? String(err),
    }));
    if (r.exitCode === 0) return { staged: true };
    // 126/127 or an OCI "executable file not found": no shell here; anything else is a real failure.
    if (r.exitCode !== 126 && r.exitCode !== 127 && !NO_SHELL.test(r.stderr + r.stdout))
      throw new Error(`renaming the new files into place in ${container} failed: ${r.stderr.trim() || r.exitCode}`);
  }
  await c.putArchive(await tarOf(files, { directories: false }), { path: '/' });
  return { staged: false };
}
