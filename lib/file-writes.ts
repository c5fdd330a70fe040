/** Writes of state files that concurrent citusctl processes may race on: never a half-written file. */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';

const tmpName = (file: string) => `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;

/** Creates `file` with `content` unless it exists; false when another writer got there first. */
export async function writeExclusive(file: string, content: string, mode: number): Promise<boolean> {
  const tmp = tmpName(file);
  await fs.writeFile(tmp, content, { mode });
  try {
    await fs.link(tmp, file); // atomic, fails if another process won the race
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/** Replaces `file` atomically: a reader sees the old content or the new, never half. */
export async function replaceFile(file: string, content: string, mode: number): Promise<void> {
  const tmp = tmpName(file);
  await fs.writeFile(tmp, content, { mode });
  await fs.chmod(tmp, mode);
  await fs.rename(tmp, file);
}
