/**
 * Invariants a chaos round checks besides "repaired":
 *  - at most one writable primary per group among EVERY container of the cluster that exists
 *    (probed through each container's published port, sampled every second during the round);
 *  - Citus metadata (pg_dist_node on the coordinator primary) and etcd agree on each group's primary;
 *  - no acknowledged write lost (the writers' read-back);
 *  - every standby streaming again within 60 s (repair.ts).
 */
import { Client } from 'pg';
import type { BenchCluster } from '../lib/cluster';
import { now, sleep, withTimeout } from '../lib/util';

async function writable(cluster: BenchCluster, port: number): Promise<boolean | undefined> {
  // The member whose port it is: its certificate names it.
  const member = cluster.spec.members.find((m) => m.port === port) ?? cluster.spec.members[0];
  const c = new Client({
    ...cluster.superuser(member?.name ?? '', { connectionTimeoutMillis: 1000, query_timeout: 1000 }),
    port,
  });
  c.on('error', () => undefined);
  try {
    return await withTimeout(1500, 'probe', async () => {
      await c.connect();
      return (await c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]?.r === false;
    });
  } catch {
    return undefined;
  } finally {
    void c.end().catch(() => undefined);
  }
}

/** Samples every running container of the cluster once a second; records any group with two writable members. */
export class SplitBrainWatcher {
  readonly violations: string[] = [];
  private stopped = false;
  private done: Promise<void> | undefined;
  samples = 0;

  constructor(
    private readonly cluster: BenchCluster,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  async sampleOnce(): Promise<void> {
    const groups = new Set(this.cluster.groups());
    const out = await this.cluster.docker(
      [
        'ps',
        '--filter',
        `label=citusctl.cluster=${this.cluster.name}`,
        '--format',
        '{{.Names}}\t{{.Label "citusctl.group"}}\t{{.Ports}}',
      ],
      10_000,
    );
    const rows = out
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'));
    const byGroup = new Map<string, string[]>();
    await Promise.all(
      rows.map(async ([name = '', group = '', ports = '']) => {
        if (!groups.has(group)) return;
        const port = /127\.0\.0\.1:(\d+)->5432\/tcp/.exec(ports)?.[1];
        if (!port) return;
        if ((await writable(this.cluster, Number(port))) === true)
          byGroup.set(group, [...(byGroup.get(group) ?? []), name]);
      }),
    );
    this.samples += 1;
    for (const [g, names] of byGroup) {
      if (names.length > 1) {
        const v = `${new Date().toISOString()} ${g}: ${names.length} writable containers (${names.sort().join(', ')})`;
        this.violations.push(v);
        this.log(`SPLIT BRAIN ${v}`);
      }
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const t0 = now();
      await this.sampleOnce().catch(() => undefined);
      const wait = 1000 - (now() - t0);
      if (wait > 0) await sleep(wait);
    }
  }
}

/** Problems where pg_dist_node (on the coordinator's writable member) and etcd disagree on a group's primary. */
export async function metadataDisagreements(
  cluster: BenchCluster,
  coordinatorPrimary: string,
  etcd: Record<string, string | undefined>,
): Promise<string[]> {
  const rows = await cluster.withClient(
    cluster.superuser(coordinatorPrimary, { query_timeout: 10_000 }),
    async (c) =>
      (
        await c.query<{ nodename: string; groupid: number }>(
          "SELECT nodename, groupid FROM pg_dist_node WHERE noderole = 'primary'",
        )
      ).rows,
  );
  const problems: string[] = [];
  for (const g of cluster.spec.workers) {
    const names = new Set(cluster.members(g).map((m) => m.name));
    const inCitus = rows.filter((r) => names.has(r.nodename)).map((r) => r.nodename);
    if (inCitus.length !== 1 || inCitus[0] !== etcd[g])
      problems.push(`${g}: pg_dist_node names ${inCitus.join(', ') || 'no primary'}, etcd names ${String(etcd[g])}`);
  }
  const coordRow = rows.find((r) => r.groupid === 0);
  if (coordRow && coordRow.nodename !== etcd.coordinator)
    problems.push(
      `coordinator: pg_dist_node (group 0) names ${coordRow.nodename}, etcd names ${String(etcd.coordinator)}`,
    );
  if (etcd.coordinator !== coordinatorPrimary)
    problems.push(`coordinator: writable member is ${coordinatorPrimary}, etcd names ${String(etcd.coordinator)}`);
  return problems;
}
