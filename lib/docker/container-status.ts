/**
 * The one reader of a container's state. Every part of citusctl that asks Docker "is it running?"
 * asks here: the monitor's probe and the health check in full (8 states, bounded), the setup and
 * failover steps in the 4 states they act on (containerState).
 */
import type Docker from 'dockerode';
import type { ContainerStatus } from '../../common/member-observation';
import { withDeadline } from '../deadline';

/** What Docker answered: every state but `unknown` (no answer). */
export type DockerContainerStatus = Exclude<ContainerStatus, 'unknown'>;

/** The fields of `docker inspect`'s State that decide the status. */
export interface InspectState {
  Paused?: boolean;
  Restarting?: boolean;
  Running?: boolean;
  Status?: string;
}

/** Docker reports Running for a paused or restarting container too: those flags come first. */
export function statusOfState(s: InspectState): DockerContainerStatus {
  if (s.Paused) return 'paused';
  if (s.Restarting) return 'restarting';
  if (s.Running) return 'running';
  return s.Status === 'created' || s.Status === 'dead' ? s.Status : 'exited';
}

const isNotFound = (err: unknown) => (err as { statusCode?: number }).statusCode === 404;

/** 'absent' when Docker does not know the container; throws what Docker throws otherwise. */
export async function readContainerStatus(docker: Docker, name: string): Promise<DockerContainerStatus> {
  try {
    return statusOfState((await docker.getContainer(name).inspect()).State);
  } catch (err) {
    if (isNotFound(err)) return 'absent';
    throw err;
  }
}

/** The container's status within ms; 'unknown' when Docker did not answer (in time). Never throws. */
export async function observeContainer(docker: Docker, name: string, ms: number): Promise<ContainerStatus> {
  return withDeadline(readContainerStatus(docker, name), ms, 'docker inspect').catch((): ContainerStatus => 'unknown');
}

/** The states a setup or failover step acts on: it exists or not, and whether its process runs. */
export type ContainerState = 'absent' | 'created' | 'running' | 'exited';

/** A paused or restarting container still has its process (Docker says Running); a dead one has not. */
export function coarseState(s: DockerContainerStatus): ContainerState {
  switch (s) {
    case 'paused':
    case 'restarting':
    case 'running':
      return 'running';
    case 'absent':
    case 'created':
      return s;
    default:
      return 'exited';
  }
}

/** containerState: readContainerStatus in the 4 states the steps act on; throws what Docker throws. */
export async function containerState(docker: Docker, name: string): Promise<ContainerState> {
  return coarseState(await readContainerStatus(docker, name));
}
