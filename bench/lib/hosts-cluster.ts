/**
 * A cluster on several (simulated) hosts as the benches see it: BenchCluster's view, but each member
 * reached at its host's address and published port (common/addressing.ts), and its container looked
 * up on its host's own engine, with a deadline (a dead host's engine never answers).
 */
import type { ClientConfig } from 'pg';
import { addressOf, hostOfContainer, pgbouncerHosts } from '../../common/addressing';
import { BenchCluster, type ContainerState } from './cluster';
import type { SimHost } from './test-support';

const ENGINE_DEADLINE_MS = 2000;

export class HostsCluster extends BenchCluster {
  constructor(
    specFile: string,
    stateDir: string,
    appName: string,
    /** The simulated hosts, in the spec's order (h1 first). */
    readonly hosts: readonly SimHost[],
  ) {
    super(specFile, stateDir, appName);
  }

  /** The spec's name of the host a member (or pgbouncer, etcd) runs on: h1, h2, ... */
  hostOf(member: string): string {
    return hostOfContainer(this.spec, member).name;
  }

  /** The simulated host behind a spec host name. */
  simHost(host: string): SimHost {
    const i = (this.spec.hosts ?? []).findIndex((h) => h.name === host);
    const sim = this.hosts[i];
    if (!sim) throw new Error(`no simulated host for ${host}`);
    return sim;
  }

  override superuser(member: string, extra: Partial<ClientConfig> = {}): ClientConfig {
    return super.superuser(member, { host: addressOf(this.spec, member), ...extra });
  }

  /** The app user through the first PgBouncer (the multi-host string's pick while it accepts writes). */
  override app(extra: Partial<ClientConfig> = {}): ClientConfig {
    return super.app({ host: pgbouncerHosts(this.spec)[0]!.address, ...extra });
  }

  /** Docker's state of the member's container on its host; 'missing' also when the host does not answer. */
  override async containerState(member: string): Promise<ContainerState> {
    const engine = this.simHost(this.hostOf(member)).docker;
    try {
      const info = (await engine
        .getContainer(this.containerOf(member))
        .inspect({ abortSignal: AbortSignal.timeout(ENGINE_DEADLINE_MS) } as object)) as { State: { Status: string } };
      return info.State.Status as ContainerState;
    } catch {
      return 'missing';
    }
  }
}
