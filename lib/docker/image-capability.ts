/** The capability check (capability-check.ts) of an image before any cluster container exists. */
import type Docker from 'dockerode';
import { containerLogs } from './docker-helpers';

/** Runs the check in a throwaway container (not part of any cluster); undefined when the image passes, else why not. */
export async function imageCapabilityProblem(
  docker: Docker,
  image: string,
  check: string,
): Promise<string | undefined> {
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ['sh', '-c', check],
    User: '0',
    Labels: { 'citusctl.preflight': 'true' },
  });
  try {
    await container.start();
    const { StatusCode } = await container.wait();
    if (StatusCode === 0) return undefined;
    const logs = await containerLogs(docker, container.id);
    return logs || `capability check exited ${StatusCode}`;
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}
