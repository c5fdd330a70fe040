/**
 * The hosts part of `citusctl status`, for a spec that lists hosts: each host's name and endpoint (no
 * secrets: the TLS files are only named in the spec), whether its Docker engine answers, whether a
 * worker polls its task queue (Temporal's pollers of the queue's activity tasks), and what placement
 * puts there, with placement's notes. Engines and Temporal are asked at once, each bounded.
 */
import { resolveHosts, type ResolvedHost } from '../common/hosts';
import { placeCluster } from '../common/placement';
import type { ClusterSpec } from '../common/spec';
import { hostTaskQueue } from '../common/task-queues';
import { engineFor, pingEngine, type EnginePing } from '../lib/docker/engine-client';
import { queuePolled } from '../lib/monitor-handoff';
import { stateDir } from '../lib/state-dir';
import { connectForCleanup } from './temporal-client';

const ENGINE_PING_MS = 2_000;
const POLLERS_DEADLINE_MS = 5_000;

export interface HostStatus {
  name: string;
  endpoint: string;
  address: string;
  engine: EnginePing;
  taskQueue: string;
  /** A live worker polls the host's queue; undefined when Temporal could not be asked (see workerError). */
  workerPolling?: boolean;
  workerError?: string;
  members: string[];
  pgbouncer: boolean;
  etcd: boolean;
}

export interface HostsStatus {
  placement: 'spread' | 'pack';
  hosts: HostStatus[];
  notes: string[];
}

/** How a host is asked: its engine's ping and its queue's pollers (injected by the tests). */
export interface HostProbes {
  ping(host: ResolvedHost): Promise<EnginePing>;
  /** Per queue: polled or not; a thrown error is reported for every host. */
  polled(queues: string[]): Promise<Record<string, boolean>>;
}

export async function hostsStatusWith(spec: ClusterSpec, probes: HostProbes): Promise<HostsStatus | undefined> {
  if (!spec.hosts?.length) return undefined;
  const hosts = resolveHosts(spec.hosts);
  const placed = placeCluster(spec);
  const queues = hosts.map((h) => hostTaskQueue(h.name));
  const [engines, polled] = await Promise.all([
    Promise.all(
      hosts.map((h) => probes.ping(h).catch((err: Error): EnginePing => ({ reachable: false, error: err.message }))),
    ),
    probes.polled(queues).then(
      (p) => ({ ok: true as const, p }),
      (err: Error) => ({ ok: false as const, error: err.message }),
    ),
  ]);
  return {
    placement: placed.strategy,
    notes: placed.notes,
    hosts: hosts.map((h, i) => ({
      name: h.name,
      endpoint: h.endpoint,
      address: h.address,
      engine: engines[i]!,
      taskQueue: queues[i]!,
      ...(polled.ok ? { workerPolling: polled.p[queues[i]!] ?? false } : { workerError: polled.error }),
      members: spec.members.filter((m) => placed.members[m.name] === h.name).map((m) => m.name),
      pgbouncer: placed.pgbouncer.includes(h.name),
      etcd: placed.etcd.includes(h.name),
    })),
  };
}

/** The real probes: the engine client of each host, and the Temporal server of this state directory. */
export function hostsStatus(spec: ClusterSpec, env: NodeJS.ProcessEnv = process.env): Promise<HostsStatus | undefined> {
  return hostsStatusWith(spec, {
    ping: async (h) => pingEngine(engineFor(h, env), ENGINE_PING_MS),
    polled: async (queues) => {
      const { connected, why } = await connectForCleanup(stateDir(env), env);
      if (!connected) throw new Error(`Temporal not reachable: ${why}`);
      try {
        const { client } = connected;
        const answers = await client.withDeadline(Date.now() + POLLERS_DEADLINE_MS, () =>
          Promise.all(queues.map((q) => queuePolled(client, q, 'activity'))),
        );
        return Object.fromEntries(queues.map((q, i) => [q, answers[i]!]));
      } finally {
        await connected.close();
      }
    },
  });
}
