/**
 * Which host runs each member, PgBouncer instance and etcd member. Pure and deterministic: the same
 * spec always places the same way, and whatever the spec names (a member's `host`, `pgbouncer.hosts`,
 * `etcd.hosts`) is kept as given, so a spec stored with its placement filled in never moves a member.
 *
 * spread (the default with several hosts): each group's members on different hosts, primaries spread
 * over the hosts first (a lost host then takes as few primaries as it can), then members by load,
 * ties broken round-robin over the groups; PgBouncer on the first two hosts, etcd on the first three
 * (quorum outlives one host) when there are three or more. Whatever cannot be spread is said in notes.
 * pack: every member without a host, PgBouncer and etcd on the first host.
 *
 * Takes the spec's shape structurally rather than the ClusterSpec type: spec.ts validates ports per
 * host with this, and must not be imported back.
 */
import { COORDINATOR_GROUP } from './names';
import { resolveHosts, type HostSpec } from './hosts';

export type PlacementStrategy = 'spread' | 'pack';

export interface PlacementInput {
  hosts?: readonly HostSpec[];
  placement?: PlacementStrategy;
  workers: readonly string[];
  members: readonly { name: string; group: string; host?: string }[];
  pgbouncer: { hosts?: readonly string[] };
  etcd: { hosts?: readonly string[] };
}

export interface Placement {
  strategy: PlacementStrategy;
  /** Member name -> host name, for every member. */
  members: Record<string, string>;
  /** One PgBouncer per host listed. */
  pgbouncer: string[];
  /** One etcd member per host listed (1, 3 or 5). */
  etcd: string[];
  /** What could not be placed as the strategy wants, each naming the members and host. */
  notes: string[];
}

/** The strategy a spec gets: its own, else spread (which on one host places everything there anyway). */
export const strategyOf = (input: Pick<PlacementInput, 'placement'>): PlacementStrategy => input.placement ?? 'spread';

/** "a", "a and b", "a, b and c". */
function listed(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

export function placeCluster(input: PlacementInput): Placement {
  const hosts = resolveHosts(input.hosts).map((h) => h.name);
  const strategy = strategyOf(input);
  const first = hosts[0]!;
  const members: Record<string, string> = {};
  const notes: string[] = [];
  const groups = [COORDINATOR_GROUP, ...input.workers].map((group) => input.members.filter((m) => m.group === group));

  if (hosts.length === 1 || strategy === 'pack') {
    for (const m of input.members) members[m.name] = m.host ?? first;
    if (hosts.length > 1 && input.members.some((m) => !m.host))
      notes.push(`placement pack: every member without a host runs on ${first}, so losing ${first} loses whole groups`);
    return {
      strategy,
      members,
      pgbouncer: [...(input.pgbouncer.hosts ?? [first])],
      etcd: [...(input.etcd.hosts ?? [first])],
      notes,
    };
  }

  const load = new Map(hosts.map((h) => [h, 0]));
  const primaries = new Map(hosts.map((h) => [h, 0]));
  const count = (m: Map<string, number>, h: string) => m.set(h, (m.get(h) ?? 0) + 1);
  for (const group of groups)
    group.forEach((m, i) => {
      if (!m.host) return;
      members[m.name] = m.host;
      count(load, m.host);
      if (i === 0) count(primaries, m.host);
    });

  // Primaries first (one per group, spread over the hosts), then standbys rank by rank (every group's
  // second member, then every third...): each pass fills the least-loaded hosts before any host gets more.
  const place = (group: (typeof groups)[number], g: number, i: number) => {
    const m = group[i];
    if (!m || m.host) return;
    const inGroup = (h: string) => group.filter((x) => members[x.name] === h).length;
    // Round-robin: group g's i-th member looks first at host g+i, so ties fall on different hosts.
    const rotation = (h: string) => (hosts.indexOf(h) - ((g + i) % hosts.length) + hosts.length) % hosts.length;
    const key = (h: string): number[] => [
      inGroup(h),
      ...(i === 0 ? [primaries.get(h) ?? 0] : []),
      load.get(h) ?? 0,
      rotation(h),
    ];
    const byKey = (a: string, b: string) => {
      const ka = key(a);
      const kb = key(b);
      const d = ka.findIndex((x, k) => x !== kb[k]);
      return d < 0 ? 0 : ka[d]! - kb[d]!;
    };
    const host = [...hosts].sort(byKey)[0]!;
    members[m.name] = host;
    count(load, host);
    if (i === 0) count(primaries, host);
  };
  const ranks = Math.max(...groups.map((group) => group.length));
  for (let i = 0; i < ranks; i++) groups.forEach((group, g) => place(group, g, i));

  groups.forEach((group, g) => {
    const name = g === 0 ? COORDINATOR_GROUP : input.workers[g - 1]!;
    for (const h of hosts) {
      const sharing = group.filter((m) => members[m.name] === h).map((m) => m.name);
      if (sharing.length < 2) continue;
      notes.push(
        group.length > hosts.length
          ? `group ${name} has ${group.length} members but ${hosts.length} hosts: ${listed(sharing)} share ${h}`
          : `group ${name}: ${listed(sharing)} share ${h} (the spec puts them there)`,
      );
    }
  });

  const etcd = input.etcd.hosts ? [...input.etcd.hosts] : hosts.length >= 3 ? hosts.slice(0, 3) : [first];
  if (!input.etcd.hosts && hosts.length < 3)
    notes.push(
      `etcd runs one member, on ${first}: ${hosts.length} hosts cannot hold a quorum that outlives ` +
        `either of them (three hosts can)`,
    );
  return { strategy, members, pgbouncer: [...(input.pgbouncer.hosts ?? hosts.slice(0, 2))], etcd, notes };
}

/** The input with its placement written in: every member's host, PgBouncer's and etcd's hosts. */
export function withPlacement<T extends PlacementInput>(input: T): T {
  const p = placeCluster(input);
  return {
    ...input,
    members: input.members.map((m) => ({ ...m, host: p.members[m.name] })),
    pgbouncer: { ...input.pgbouncer, hosts: p.pgbouncer },
    etcd: { ...input.etcd, hosts: p.etcd },
  };
}
