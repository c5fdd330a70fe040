/**
 * What a test on simulated hosts does around its cluster: a `citusctl worker --host` process per
 * host (test/integration/support/sim-hosts.ts makes the hosts), and the cluster's containers and
 * volumes removed from every host that answers (a host's volumes outlive a run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { LABEL_CLUSTER } from '../../../common/labels';
import { CLI, ROOT, sleep } from './cluster';
import { hostNamespace, type SimHost } from './sim-hosts';

/** Removes the cluster's containers and volumes from every simulated host whose engine answers. */
export async function removeClusterFromHosts(hosts: readonly SimHost[], cluster: string): Promise<void> {
  for (const h of hosts) {
    const alive = await h.docker.ping().then(
      () => true,
      () => false,
    );
    if (!alive) continue;
    const filters = { label: [`${LABEL_CLUSTER}=${cluster}`] };
    for (const c of await h.docker.listContainers({ all: true, filters }))
      await h.docker.getContainer(c.Id).remove({ force: true, v: true });
    for (const v of (await h.docker.listVolumes({ filters })).Volumes ?? [])
      await h.docker.getVolume(v.Name).remove({ force: true });
  }
}

/**
 * Where a host's worker runs: by default in this machine's network (it reaches the host's engine over
 * TCP like anyone else). `on`: inside the simulated host's network namespace (`nsenter --net`, root
 * only), as a worker on a real host: Temporal only through the hosts network (`temporalAddress`, a
 * forwarder on its gateway: support/tcp-forward.ts), its engine over the host's local socket
 * (`--engine`); a partition of the host then cuts it off from Temporal, etcd and the other hosts, but
 * not from its engine.
 */
export interface WorkerPlace {
  on: SimHost;
  temporalAddress: string;
}

/**
 * Starts `citusctl worker --host <host> -c <specFile>` and waits until it polls its queue and has
 * reached its engine; its output accumulates in logs[host] (for a failure's message).
 */
export async function startHostWorker(
  host: string,
  specFile: string,
  env: NodeJS.ProcessEnv,
  logs: Record<string, string>,
  place?: WorkerPlace,
): Promise<ChildProcess> {
  logs[host] = '';
  const args = [CLI, 'worker', '--host', host, '-c', specFile];
  let command = process.execPath;
  if (place) {
    const ns = await hostNamespace(place.on);
    args.push('--engine', ns.socket);
    args.unshift(`--net=${ns.netns}`, '--', process.execPath);
    command = 'nsenter';
    env = { ...env, TEMPORAL_ADDRESS: place.temporalAddress };
  }
  const p = spawn(command, args, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  p.stdout!.on('data', (d: Buffer) => (logs[host] += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (logs[host] += d.toString()));
  for (let i = 0; i < 1200 && !logs[host]!.includes('task queue') && p.exitCode === null; i++) await sleep(100);
  if (!logs[host]!.includes('reachable')) throw new Error(`worker --host ${host}: ${logs[host]}`);
  return p;
}
