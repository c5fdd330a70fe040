/**
 * Bounded observations shared by the monitor's probe and the health check: a deadline on any
 * promise, and Docker's view of one container reduced to the states they both report.
 */
import type Docker from 'dockerode';
import type { ContainerStatus } from '../../common/monitor-observation';

export const errMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Resolves with p's value, or rejects after ms (p keeps running and settles unobserved). */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  p.catch(() => undefined);
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The container's state within ms; 'absent' when Docker does not know it, 'unknown' when it did not answer. */
export async function observeContainer(docker: Docker, name: string, ms: number): Promise<ContainerStatus> {
  try {
    const info = await withDeadline(docker.getContainer(name).inspect(), ms, 'docker inspect');
    if (info.State.Paused) return 'paused';
    if (info.State.Restarting) return 'restarting';
    if (info.State.Running) return 'running';
    const s = info.State.Status;
    return s === 'created' || s === 'dead' ? s : 'exited';
  } catch (err) {
    return (err as { statusCode?: number }).statusCode === 404 ? 'absent' : 'unknown';
  }
}
