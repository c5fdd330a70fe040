/** What activities are given by the worker: clients built once, never ad hoc inside an activity. */
import type Docker from 'dockerode';
import type { ResolvedHost } from '../common/hosts';
import type { EtcdConnector } from '../lib/etcd-connector';
import type { MetricsSink } from '../lib/metrics';
import type { PgConnector } from '../lib/pg-connector';
import type { SecretStore } from '../lib/secrets';
import type { TlsStore } from '../lib/tls/tls-store';

/** The Postgres connection types live with their adapter in lib; re-exported for activities. */
export type { PgConnector, PgTarget } from '../lib/pg-connector';
export type { EtcdConnector } from '../lib/etcd-connector';

export interface ActivityDeps {
  docker: Docker;
  /**
   * Several hosts: the engine of a spec host (one client per host, cached), for the steps that look at
   * every host from one worker (the monitor's probe). Absent: `docker` is the only engine.
   */
  engineOf?: (host: ResolvedHost) => Docker;
  pg: PgConnector;
  etcd: EtcdConnector;
  secrets: SecretStore;
  /** The cluster CA and the certificates it issued (keys never leave activities). */
  tls: TlsStore;
  /** Environment used for image overrides (CITUSCTL_IMAGE_*). */
  env: Record<string, string | undefined>;
  log: (message: string) => void;
  /** Where the monitor's observations and recorded failovers go (the long-lived worker serves them). */
  metrics?: MetricsSink;
}
