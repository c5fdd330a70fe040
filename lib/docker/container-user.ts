/**
 * The numeric owner a container's main process runs as: its configured user (name or number),
 * looked up in the container's own /etc/passwd. Files it must own (a TLS key of mode 0600) carry
 * these ids in the archive put into it. Works on a created container that never ran.
 */
import type Docker from 'dockerode';
import { extract } from 'tar-stream';
import { fatal } from '../errors';

export interface Owner {
  uid: number;
  gid: number;
}

async function readFileOf(docker: Docker, container: string, file: string): Promise<string> {
  const archive = await docker.getContainer(container).getArchive({ path: file });
  const x = extract();
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    x.on('entry', (_header, stream, next) => {
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', next);
      stream.resume();
    });
    x.on('finish', resolve);
    x.on('error', reject);
    archive.on('error', reject);
    archive.pipe(x);
  });
  return Buffer.concat(chunks).toString('utf8');
}

const isNumber = (s: string | undefined): s is string => !!s && /^\d+$/.test(s);

export async function containerUser(docker: Docker, container: string): Promise<Owner> {
  const configured = (await docker.getContainer(container).inspect()).Config.User || 'root';
  const [user, group] = configured.split(':') as [string, string | undefined];
  if (isNumber(user)) return { uid: Number(user), gid: isNumber(group) ? Number(group) : Number(user) };
  const entry = (await readFileOf(docker, container, '/etc/passwd'))
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === user);
  if (!entry || !isNumber(entry[2]) || !isNumber(entry[3]))
    throw fatal('BadConfig', `container ${container}: its user "${user}" is not in its /etc/passwd`);
  return { uid: Number(entry[2]), gid: isNumber(group) ? Number(group) : Number(entry[3]) };
}
