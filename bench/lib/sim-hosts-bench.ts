/**
 * The frame of a bench on three simulated hosts (test/sim-hosts/), beside bench-main.ts's for one
 * host: the hosts on a network of their own, the cluster's spec written for them (the results
 * directory keeps it), a `citusctl worker --host hN` per host (with `workersOnHosts`, inside its
 * host's network namespace, as on a real machine: see HostFleet); then `main`; at the end, unless
 * KEEP_UP=1, `citusctl down --volumes --backups` while the hosts still answer, the host workers
 * stopped, whatever is left of the cluster on the hosts removed, and the hosts removed (their image
 * volumes kept for the next run unless SIM_HOSTS_KEEP=0, as the tests do). The process exits with
 * main's code.
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ClusterSpecInput } from '../../common/spec';
import { ensureTemporal } from '../../lib/temporal-server';
import { exitWith, ROOT } from './bench-main';
import { runCli, type CliOptions } from './cli';
import { HostsCluster } from './hosts-cluster';
import { hostWorkers, simHosts, tcpForward, testCluster, type SimHost, type TcpForward } from './test-support';
import { Log, now } from './util';

/** Calls `fn` with each whole line the process writes (stdout and stderr). */
function onLines(p: ChildProcess, fn: (line: string) => void): void {
  for (const stream of [p.stdout, p.stderr]) {
    let partial = '';
    stream?.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      lines.forEach(fn);
    });
  }
}

/**
 * The host workers: one `citusctl worker --host hN` process per host, started and killed by name.
 * With `temporalForward` each runs on its host (support/host-workers.ts WorkerPlace: its network
 * namespace, its engine's local socket, Temporal through that forwarder on the hosts network's
 * gateway), so a partitioned host's worker loses etcd and Temporal as on a real machine and its
 * self-fence acts; without, on this machine, as the kill rounds' figures were taken.
 */
export class HostFleet {
  private readonly workers: Record<string, ChildProcess> = {};
  /** Each worker's output (for a failure's message). */
  readonly logs: Record<string, string> = {};
  /** Each worker's `self-fence: ` lines, with when they came (epoch ms): its log has no times. */
  readonly fenceLines: Record<string, { t: number; line: string }[]> = {};
  private readonly cut = new Set<string>();

  constructor(
    private readonly cluster: HostsCluster,
    private readonly specFile: string,
    private readonly temporalForward?: string,
  ) {}

  async startWorker(host: string): Promise<void> {
    const place = this.temporalForward
      ? { on: this.cluster.simHost(host), temporalAddress: this.temporalForward }
      : undefined;
    const p = await hostWorkers.startHostWorker(host, this.specFile, process.env, this.logs, place);
    this.workers[host] = p;
    onLines(p, (line) => {
      if (line.includes('self-fence: ')) (this.fenceLines[host] ??= []).push({ t: now(), line });
    });
  }

  /** The host's network cable pulled: it and its worker run on, cut off from the others and this machine. */
  async partition(host: string): Promise<void> {
    await simHosts.partitionHost(this.cluster.simHost(host));
    this.cut.add(host);
  }

  /** Plugged back (same address), until its engine answers again. */
  async heal(host: string): Promise<void> {
    if (!this.cut.has(host)) return;
    await simHosts.healHost(this.cluster.simHost(host));
    this.cut.delete(host);
  }

  /** The machine dies: SIGKILL of its host container and, at once, of the worker running on it. */
  async crash(host: string): Promise<void> {
    await Promise.all([
      simHosts.killHost(this.cluster.simHost(host)),
      Promise.resolve(this.workers[host]?.kill('SIGKILL')),
    ]);
  }

  /** The machine boots again (its engine answers), then its worker starts again. */
  async restart(host: string): Promise<void> {
    await simHosts.restartHost(this.cluster.simHost(host));
    await this.startWorker(host);
  }

  /** Whether the host's engine answers (a crashed host's does not). */
  engineAnswers(host: string): Promise<boolean> {
    return simHosts.engineAnswers(this.cluster.simHost(host), 2000);
  }

  /** After a round that failed half-way: every host running and connected again, each with its worker. */
  async reviveAll(): Promise<void> {
    for (const host of [...this.cut]) await this.heal(host);
    for (const host of Object.keys(this.workers)) {
      if (!(await this.engineAnswers(host))) await this.restart(host);
      else if (this.workers[host]!.exitCode !== null || this.workers[host]!.signalCode !== null)
        await this.startWorker(host);
    }
  }

  async stopAll(): Promise<void> {
    for (const p of Object.values(this.workers))
      if (p.pid && p.exitCode === null && p.signalCode === null) await testCluster.terminate(p.pid, 15_000);
  }
}

export interface SimHostsFrame {
  /** Names the results dir and the app name, e.g. "host-failover". */
  name: string;
  /** The hosts' network citusctl-test-hosts-<suffix> and containers citusctl-test-host-<suffix>-<n>. */
  suffix: string;
  /** An IPv4 /24 no test or other bench uses; the hosts get .11-.13, this machine is .1. */
  subnet: string;
  defaultStateDir: string;
  /**
   * Run each host's worker on its host (HostFleet), reaching the embedded Temporal server (started
   * here first: none of them starts it) through a forwarder on the gateway's port `temporalForwardPort`.
   */
  workersOnHosts?: { temporalForwardPort: number };
  /** The spec for these hosts (`hosts` and `controlAddresses` are added). */
  spec: ClusterSpecInput;
  main: (log: Log, cli: CliOptions, cluster: HostsCluster, fleet: HostFleet, outDir: string) => Promise<number>;
}

async function run(frame: SimHostsFrame): Promise<number> {
  const env = process.env;
  const stateDir = path.resolve(env.CITUSCTL_STATE_DIR ?? frame.defaultStateDir);
  const outDir =
    env.BENCH_OUT ?? path.join(stateDir, `${frame.name}-results-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  fs.mkdirSync(outDir, { recursive: true });
  const log = new Log(path.join(outDir, 'summary.txt'));
  const images = testCluster.testImages();
  let hosts: SimHost[] = [];
  let fleet: HostFleet | undefined;
  let cli: CliOptions | undefined;
  let forward: TcpForward | undefined;
  let code = 1;
  try {
    hosts = await simHosts.startSimHosts({
      suffix: frame.suffix,
      count: 3,
      subnet: frame.subnet,
      images: [images.postgres, images.pgbouncer, images.etcd],
      log: (line) => log.line(line),
    });
    await hostWorkers.removeClusterFromHosts(hosts, frame.spec.name);
    const specFile = path.join(outDir, 'cluster.json');
    const input: ClusterSpecInput = {
      ...frame.spec,
      images,
      // This machine (the bench, the CLI and the shared worker) reaches the hosts from the network's gateway.
      controlAddresses: [`${simHosts.subnetAddress(frame.subnet, 1)}/32`],
      hosts: simHosts.simHostSpecs(hosts),
    };
    fs.writeFileSync(specFile, JSON.stringify(input, null, 2));
    const cluster = new HostsCluster(specFile, stateDir, `bench-${frame.name}`, hosts);
    cli = { root: ROOT, spec: specFile, outDir };
    if (frame.workersOnHosts) {
      await ensureTemporal(stateDir, env);
      forward = await tcpForward.startTcpForward(
        simHosts.subnetAddress(frame.subnet, 1),
        frame.workersOnHosts.temporalForwardPort,
        Number(env.CITUSCTL_TEMPORAL_PORT ?? 7233),
      );
      log.line(`host workers on their hosts; Temporal forwarded to them on ${forward.address}`);
    }
    fleet = new HostFleet(cluster, specFile, forward?.address);
    for (const h of (input.hosts ?? []).map((x) => x.name)) await fleet.startWorker(h);
    code = await frame.main(log, cli, cluster, fleet, outDir);
  } catch (err) {
    log.line(`bench/${frame.name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    for (const [h, text] of Object.entries(fleet?.logs ?? {}))
      fs.writeFileSync(path.join(outDir, `worker-${h}.log`), text);
    if (env.KEEP_UP !== '1') {
      if (cli) {
        const d = await runCli(cli, ['down', '--volumes', '--backups'], 'down');
        log.line(
          d.doc.ok ? `cluster ${frame.spec.name} removed (down --volumes --backups)` : `down: ${String(d.doc.error)}`,
        );
      }
      await fleet?.stopAll();
      await hostWorkers.removeClusterFromHosts(hosts, frame.spec.name).catch((err: unknown) => log.line(String(err)));
      await simHosts.removeSimHosts(frame.suffix, { keepImages: env.SIM_HOSTS_KEEP !== '0' });
      log.line(`simulated hosts ${frame.suffix} removed${env.SIM_HOSTS_KEEP !== '0' ? ' (image volumes kept)' : ''}`);
    } else await fleet?.stopAll();
    await forward?.close();
    log.close();
  }
  return code;
}

export function runSimHostsBench(frame: SimHostsFrame): void {
  exitWith(run(frame));
}
