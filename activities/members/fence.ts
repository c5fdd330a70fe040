/**
 * Fence: record the member as fenced in its volume (its bootstrap then never starts PostgreSQL,
 * whether the container is restarted, killed, or re-created on the same volume) and in etcd,
 * then stop the container and verify it no longer accepts connections.
 */
import type { ClusterSpec } from '../../common/spec';
import { containerName } from '../../common/topology';
import { containerState } from '../../lib/docker/docker-helpers';
import { fatal } from '../../lib/errors';
import { ping } from '../../lib/postgres';
import type { ActivityDeps } from '../deps';
import { pollUntil } from '../heartbeat';
import { setMemberState } from './state';
import { asSuperuser } from './superuser';

export async function fenceMember(
  deps: ActivityDeps,
  input: { spec: ClusterSpec; member: string; reason?: string },
): Promise<{ wasRunning: boolean }> {
  const name = containerName(input.spec.name, input.member);
  const state = await containerState(deps.docker, name);
  await setMemberState(deps, {
    spec: input.spec,
    member: input.member,
    state: { state: 'fenced', at: new Date().toISOString(), reason: input.reason ?? 'fenced by a failover' },
  });
  if (state === 'absent') return { wasRunning: false };
  const container = deps.docker.getContainer(name);
  // SIGKILL, also in a switchover: by then the target has replayed all the old primary flushed,
  // and a shutdown checkpoint would only lengthen the pause. Rejoin copes with the crash state.
  if (state === 'running')
    await container.kill().catch((e: { statusCode?: number }) => {
      if (e.statusCode !== 409) throw e;
    });
  await pollUntil(
    async () => ((await containerState(deps.docker, name)) === 'running' ? undefined : true),
    10_000,
    100,
  );
  try {
    await asSuperuser(deps, input.spec, input.member, ping);
  } catch {
    return { wasRunning: state === 'running' };
  }
  throw fatal('Invariant', `${input.member} still accepts connections after fencing`);
}
