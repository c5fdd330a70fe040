/**
 * `citusctl worker --host NAME`: the worker of one Docker host, run on that host. It polls only the
 * host's own task queue (`citusctl-host-<host>`, common/task-queues.ts) and serves activities only,
 * each given that host's engine as its Docker client (lib/docker/engine-client.ts); Postgres, etcd,
 * secrets and TLS are as in any worker. One per host serves every cluster of the host. Workflows stay
 * on the shared queue, served by the usual workers. With several hosts it also runs the self-fence
 * loop (worker/self-fence-loop.ts): it stops a primary on this host cut off from etcd and the others.
 */
import { resolveHosts, type ResolvedHost } from '../common/hosts';
import type { ClusterSpec } from '../common/spec';
import { hostTaskQueue } from '../common/task-queues';
import { engineFor, pingEngine } from '../lib/docker/engine-client';
import { stateDir } from '../lib/state-dir';
import { describeSecurity, temporalConnectOptions } from '../lib/temporal-connection';
import { ensureTemporal } from '../lib/temporal-server';
import { createDeps } from './deps';
import { withWorkerEngine } from './host-engine';
import { createWorker } from './run-worker';
import { startHostSelfFence } from './self-fence-start';

/** The Temporal identity of a host's worker (not `citusctl-worker@pid`: its pid is on another machine). */
export const hostWorkerIdentity = (host: string, pid: number) => `citusctl-host-worker@${host}/${pid}`;

/** The spec's host of that name; an unknown name lists the ones there are. */
export function hostNamed(spec: ClusterSpec, name: string): ResolvedHost {
  const hosts = resolveHosts(spec.hosts);
  const host = hosts.find((h) => h.name === name);
  if (!host)
    throw new Error(
      `--host ${name}: cluster ${spec.name} has no such host (hosts: ${hosts.map((h) => h.name).join(', ')})`,
    );
  return host;
}

/** Runs until SIGINT/SIGTERM (the SDK drains running activities first). */
export async function runHostWorker(
  spec: ClusterSpec,
  name: string,
  env: NodeJS.ProcessEnv = process.env,
  opts: { selfFence?: boolean; engine?: string } = {},
): Promise<void> {
  const log = (line: string) => console.error(`citusctl worker --host ${name}: ${line}`);
  // --engine: this host's engine as the worker on it reaches it (its local socket), not as others do.
  const host = withWorkerEngine(hostNamed(spec, name), opts.engine);
  const docker = engineFor(host, env);
  const endpoint = await ensureTemporal(stateDir(env), env);
  const deps = createDeps(env, undefined, docker);
  const taskQueue = hostTaskQueue(host.name);
  const { worker, connection } = await createWorker({
    endpoint,
    deps,
    identity: hostWorkerIdentity(host.name, process.pid),
    taskQueue,
    activitiesOnly: true,
  });
  try {
    // An engine down now may be back before the first activity: say so, and poll anyway.
    const ping = await pingEngine(docker);
    log(
      `task queue "${taskQueue}" on ${endpoint.address}` +
        (endpoint.embedded ? '' : ` (${describeSecurity(temporalConnectOptions(endpoint, env))})`) +
        `; engine ${host.endpoint} ${ping.reachable ? 'reachable' : `NOT reachable (${ping.error})`}`,
    );
    const selfFence = startHostSelfFence(spec, host.name, deps, docker, { enabled: opts.selfFence ?? true, log });
    try {
      await worker.run();
    } finally {
      await selfFence?.close();
    }
  } finally {
    deps.close();
    await connection.close();
  }
}
