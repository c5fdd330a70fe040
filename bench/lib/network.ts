/**
 * A member cut off from its cluster's Docker network and put back, as an operator's `docker
 * network disconnect` / `connect` would: the container keeps running, PostgreSQL stays alive,
 * nothing reaches it (its published port goes too, and Docker's DNS no longer names it). Put back,
 * it gets its member name as alias again (how the other members and Citus reach it).
 */
import type { BenchCluster } from './cluster';

export const clusterNetwork = (cluster: BenchCluster): string => `citusctl-${cluster.name}`;

export async function disconnectMember(cluster: BenchCluster, member: string): Promise<void> {
  await cluster.docker(['network', 'disconnect', clusterNetwork(cluster), cluster.containerOf(member)]);
}

/** Connects it again (running or not); a no-op when it already is. */
export async function reconnectMember(cluster: BenchCluster, member: string): Promise<void> {
  const container = cluster.containerOf(member);
  const attached = await cluster
    .docker(['inspect', '-f', '{{json .NetworkSettings.Networks}}', container])
    .catch(() => '{}');
  if (attached.includes(`"${clusterNetwork(cluster)}"`)) return;
  await cluster.docker(['network', 'connect', '--alias', member, clusterNetwork(cluster), container]);
}

/** Can the member take a write now, through its published port? A new transaction id needs a writable primary. */
export async function acceptsWrite(
  cluster: BenchCluster,
  member: string,
): Promise<{ accepted: boolean; detail: string }> {
  try {
    const xid = await cluster.withClient(
      cluster.superuser(member, { connectionTimeoutMillis: 1500, query_timeout: 1500 }),
      async (c) => (await c.query<{ x: string }>('SELECT txid_current()::text AS x')).rows[0]?.x,
    );
    return { accepted: true, detail: `txid_current() = ${String(xid)}` };
  } catch (err) {
    return { accepted: false, detail: err instanceof Error ? err.message : String(err) };
  }
}
