/**
 * The numeric user a container's process runs as, so files put into it through the archive API can
 * be its own (a 0600 key its non-root process must read). Docker's own `copyUIDGID` resolves the
 * name on the daemon's host, not in the image, so the container's /etc/passwd is read here.
 */
import type Docker from 'dockerode';
import { readContainerFile } from './container-files';

export interface Owner {
  uid: number;
  gid: number;
}

const ROOT: Owner = { uid: 0, gid: 0 };
const NUMERIC = /^\d+$/;

/** name -> [uid, gid] of a passwd or group file (`name:x:id:gid:...`; a group file's third field is its id). */
function idsOf(text: string): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const line of text.split('\n')) {
    const [name, , id, gid] = line.split(':');
    if (name && id !== undefined && NUMERIC.test(id))
      out.set(name, [Number(id), NUMERIC.test(gid ?? '') ? Number(gid) : -1]);
  }
  return out;
}

/**
 * The owner Docker runs `user` (`Config.User`: "", "name", "uid", "name:group", "uid:gid") as,
 * given the container's /etc/passwd and /etc/group. Throws for a name neither file knows: the
 * container would not start either.
 */
export function ownerOf(user: string, passwd: string, group: string): Owner {
  if (!user) return ROOT;
  const [u = '', g] = user.split(':');
  const users = idsOf(passwd);
  const known = users.get(u);
  if (!NUMERIC.test(u) && !known) throw new Error(`user "${u}" is not in the container's /etc/passwd`);
  const uid = NUMERIC.test(u) ? Number(u) : known![0];
  if (g === undefined || g === '') {
    // As runc does: the passwd entry's group, else 0 (a numeric uid the image does not list).
    const primary = known?.[1] ?? [...users.values()].find(([id]) => id === uid)?.[1];
    return { uid, gid: primary !== undefined && primary >= 0 ? primary : 0 };
  }
  if (NUMERIC.test(g)) return { uid, gid: Number(g) };
  const gid = idsOf(group).get(g)?.[0];
  if (gid === undefined) throw new Error(`group "${g}" is not in the container's /etc/group`);
  return { uid, gid };
}

/** The numeric owner the container's process runs as (root when it names no user). */
export async function containerOwner(docker: Docker, container: string): Promise<Owner> {
  const user = (await docker.getContainer(container).inspect()).Config.User ?? '';
  if (!user || /^\d+:\d+$/.test(user)) return user ? ownerOf(user, '', '') : ROOT;
  const [passwd, group] = await Promise.all([
    readContainerFile(docker, container, '/etc/passwd'),
    readContainerFile(docker, container, '/etc/group'),
  ]);
  return ownerOf(user, passwd?.content ?? '', group?.content ?? '');
}
