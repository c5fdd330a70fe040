/**
 * The numeric owner a container's main process runs as: its configured user (name or number),
 * looked up in the container's own /etc/passwd. Files it must own (a TLS key of mode 0600) carry
 * these ids in the archive put into it. Works on a created container that never ran.
 */
import type Docker from 'dockerode';
import { fatal } from '../errors';
import { readContainerFile } from './container-files';

export interface Owner {
  uid: number;
  gid: number;
}

const isNumber = (s: string | undefined): s is string => !!s && /^\d+$/.test(s);

export async function containerUser(docker: Docker, container: string): Promise<Owner> {
  return userOwner(docker, container, (await docker.getContainer(container).inspect()).Config.User || 'root');
}

/** The ids of `user` (a name or number, `user:group` allowed) in the container's own /etc/passwd. */
export async function userOwner(docker: Docker, container: string, configured: string): Promise<Owner> {
  const [user, group] = configured.split(':') as [string, string | undefined];
  if (isNumber(user)) return { uid: Number(user), gid: isNumber(group) ? Number(group) : Number(user) };
  const entry = ((await readContainerFile(docker, container, '/etc/passwd'))?.content ?? '')
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === user);
  if (!entry || !isNumber(entry[2]) || !isNumber(entry[3]))
    throw fatal('BadConfig', `container ${container}: its user "${user}" is not in its /etc/passwd`);
  return { uid: Number(entry[2]), gid: isNumber(group) ? Number(group) : Number(entry[3]) };
}
