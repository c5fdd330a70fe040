/**
 * What the monitor does about the cluster's two services, PgBouncer (every client's entry point)
 * and etcd (the control state): a container Docker reports stopped is started again, a removed one
 * re-created. Pure. Decided from Docker's word alone, before and independently of etcd: the repair
 * of etcd cannot wait for etcd, and a client entry point down costs every client at once.
 *
 * Docker's restart policies do not cover this: `docker kill` and `docker stop` count as a manual
 * stop, which no policy restarts (checked on Docker 20.10: `always`, `unless-stopped` and
 * `on-failure` all leave a `docker kill`ed container exited); they restart a process that crashes
 * or is killed from inside, and bring the services back when the Docker daemon restarts.
 */
import { ETCD_MEMBER, PGBOUNCER_MEMBER } from './names';
import type { ClusterObservation, ContainerStatus } from './monitor-observation';

export const SERVICES = [PGBOUNCER_MEMBER, ETCD_MEMBER] as const;
export type ServiceName = (typeof SERVICES)[number];

/**
 * `group` and `member` both name the service (its containers are labelled so), which gives each
 * service action its own backoff key and a target in the monitor's records.
 */
export type ServiceAction = {
  kind: 'start-service' | 'recreate-service';
  group: ServiceName;
  member: ServiceName;
  /** PgBouncer: the coordinator primary the monitor last knew, used when etcd does not answer. */
  coordinator?: string;
  reason: string;
};

export interface ServiceDecision {
  actions: ServiceAction[];
  /**
   * Docker's word on each service's container, or `unreachable` when it runs but does not answer:
   * for status, and for change detection (the probe returns when one changes, so the monitor's
   * status follows etcd coming back at once, not at the end of the probe's period).
   */
  words: Partial<Record<ServiceName, string>>;
  notes: string[];
}

/** Containers Docker reports not running and that a `docker start` brings back. */
const STOPPED: readonly ContainerStatus[] = ['exited', 'created', 'dead'];

/**
 * Start or re-create each service whose container is stopped or gone; leave alone one that runs,
 * restarts (Docker's policy is at it), is paused (on purpose) or that Docker could not tell about.
 * Nothing in cluster maintenance. `notBefore` (by `<kind>:<service>`) spaces out repeated tries.
 */
export function decideServices(
  obs: ClusterObservation | undefined,
  opts: { maintenance: boolean; coordinator?: string; notBefore: Record<string, number> },
): ServiceDecision {
  const out: ServiceDecision = { actions: [], words: {}, notes: [] };
  if (!obs?.services) return out; // an observation from before services were watched
  for (const service of SERVICES) {
    const container = obs.services[service];
    const answers = service === PGBOUNCER_MEMBER ? obs.pgbouncer.ok : obs.etcd.ok;
    out.words[service] = container === 'running' && !answers ? 'unreachable' : container;
    const kind =
      container === 'absent' ? 'recreate-service' : STOPPED.includes(container) ? 'start-service' : undefined;
    if (!kind) continue;
    if (opts.maintenance) {
      out.notes.push(`${service}: container ${container}: maintenance (cluster paused), left alone`);
      continue;
    }
    const until = opts.notBefore[`${kind}:${service}`];
    if (until !== undefined && obs.at < until) {
      out.notes.push(`${kind} ${service} not before ${new Date(until).toISOString()}`);
      continue;
    }
    const reason =
      kind === 'recreate-service' ? `${service}'s container is gone` : `${service}'s container is ${container}`;
    out.actions.push({
      kind,
      group: service,
      member: service,
      ...(service === PGBOUNCER_MEMBER && opts.coordinator ? { coordinator: opts.coordinator } : {}),
      reason,
    });
  }
  return out;
}
