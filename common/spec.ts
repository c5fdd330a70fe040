/**
 * The cluster spec: one declarative document describing the whole cluster.
 * Parsing validates everything before anything is created; errors name the field.
 * Every field has a default: `{}` is the project's cluster.yaml (cluster `demo`, groups g1 and g2,
 * two members per group on 5432-5437), and `{ name: 'x' }` the same layout under another name.
 * Pure (zod): workflows check a spec given in their input with it (common/inputs) before any activity.
 */
import { z } from 'zod';
import { hostErrors, hostSchema, resolveHosts } from './hosts';
import { COORDINATOR_GROUP } from './names';
import { placeCluster } from './placement';

export { COORDINATOR_GROUP };

/** Names of clusters, groups and members (they end up in container, volume and host names). */
export const dnsName = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,29}[a-z0-9]$|^[a-z]$/,
    'must be 1-31 characters of a-z, 0-9 and "-", starting with a letter',
  );
const sqlIdentifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier');
const hostPort = z.number().int().min(1).max(65535);
const imageRef = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/, 'must be a Docker image reference');

/**
 * Where pgBackRest keeps backups and archived WAL (README "Backups"). `volume`: the cluster's Docker
 * volume. `s3`: an S3-compatible endpoint; the spec names files, never secrets: `credentialsFile`
 * (read by `up` into the state directory's secrets) and `caFile` (PEM the endpoint's certificate
 * chains to; TLS is always verified).
 */
const hostPath = z.string().regex(/^\/[^\0\n]*$/, 'must be an absolute path');
const s3Repository = z.strictObject({
  type: z.literal('s3'),
  /** host or host:port, no scheme (always https). */
  endpoint: z
    .string()
    .regex(/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$/, 'must be host or host:port (no scheme)'),
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
  region: z.string().regex(/^[a-z0-9-]{1,40}$/, 'must be a region name such as us-east-1'),
  /** Key prefix of the repository in the bucket; default /citusctl/<cluster>. */
  path: z
    .string()
    .regex(/^\/[A-Za-z0-9._\-/]*$/, 'must be an absolute key prefix (letters, digits, . _ - /)')
    .optional(),
  uriStyle: z.enum(['path', 'host']).default('path'),
  caFile: hostPath.optional(),
  credentialsFile: hostPath,
});
export const backupRepositorySchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('volume') }),
  s3Repository,
]);
export type BackupRepositorySpec = z.output<typeof backupRepositorySchema>;
export type S3RepositorySpec = Extract<BackupRepositorySpec, { type: 's3' }>;

const memberSchema = z.strictObject({
  name: dnsName,
  group: dnsName,
  /** Host port published for this member's PostgreSQL (on 127.0.0.1 with one host). */
  port: hostPort,
  /** The host (a `hosts` name) it runs on; placed by `placement` when left out. */
  host: dnsName.optional(),
});

/** The default layout (cluster.yaml): coordinator, then each worker group, two members each. */
export const DEFAULT_CLUSTER_NAME = 'demo';
export const DEFAULT_WORKERS: readonly string[] = ['g1', 'g2'];
export const DEFAULT_FIRST_PORT = 5432;
const MEMBER_SUFFIXES = ['a', 'b'];

/**
 * Two members per group (`<group>-a` its initial primary, `<group>-b`
 * its standby; `coord-*` for the coordinator), ports in order.
 */
export function defaultMembers(
  workers: readonly string[],
  firstPort = DEFAULT_FIRST_PORT,
): { name: string; group: string; port: number }[] {
  const groups = [COORDINATOR_GROUP, ...workers];
  return groups.flatMap((group, g) =>
    MEMBER_SUFFIXES.map((suffix, i) => ({
      name: `${group === COORDINATOR_GROUP ? 'coord' : group}-${suffix}`,
      group,
      port: firstPort + g * MEMBER_SUFFIXES.length + i,
    })),
  );
}

export const clusterSpecSchema = z.strictObject({
  name: dnsName.default(DEFAULT_CLUSTER_NAME),
  /**
   * The Docker engines the cluster runs on (README "Several hosts"). Left out: one implicit host,
   * `local` (the local socket), and everything as before hosts existed.
   */
  hosts: z.array(hostSchema).min(1).max(64).optional(),
  /** Where members without a `host` go (common/placement.ts); spread when left out. */
  placement: z.enum(['spread', 'pack']).optional(),
  /**
   * With several hosts: where citusctl itself (the shared worker, the CLI) connects to members from
   * when it runs on none of the hosts (IPv4 CIDRs). pg_hba admits these besides the hosts, hostssl
   * and SCRAM only.
   */
  controlAddresses: z
    .array(z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'must be an IPv4 CIDR (10.0.0.5/32)'))
    .max(16)
    .optional(),
  /** synchronous: a primary commits only once its standby has the WAL. */
  durability: z.enum(['synchronous', 'async']).default('synchronous'),
  images: z
    .strictObject({ postgres: imageRef.optional(), pgbouncer: imageRef.optional(), etcd: imageRef.optional() })
    .default({}),
  /** Names of the worker groups; the coordinator group is always called "coordinator". */
  workers: z
    .array(dnsName)
    .min(1, 'a cluster needs at least one worker group')
    .default(() => [...DEFAULT_WORKERS]),
  /** Every PostgreSQL node. The first member listed for a group is its initial primary. */
  members: z
    .array(memberSchema)
    .min(2)
    .default(() => defaultMembers(DEFAULT_WORKERS)),
  pgbouncer: z
    .strictObject({
      port: hostPort.default(6432),
      poolMode: z.enum(['transaction', 'session']).default('transaction'),
      /**
       * Client connections each PgBouncer process accepts. The kernel spreads new connections over
       * the processes by a hash, unevenly, so each process may have to take nearly all of them.
       */
      maxClientConn: z.number().int().min(10).max(100_000).default(10_000),
      /**
       * Server connections to the coordinator in all, shared evenly by the processes. At most 60: the
       * coordinator runs PostgreSQL's default max_connections (100), and citusctl, replication and
       * Citus's own maintenance need the rest.
       */
      poolSize: z.number().int().min(1).max(60).default(20),
      /** PgBouncer processes on the one port (so_reuseport, peered for cancel requests): one core each. */
      processes: z.number().int().min(1).max(16).default(1),
      /** One PgBouncer on each host named here (default: placement's, two hosts when there are two). */
      hosts: z.array(dnsName).min(1).optional(),
    })
    .default({ port: 6432, poolMode: 'transaction', maxClientConn: 10_000, poolSize: 20, processes: 1 }),
  etcd: z
    .strictObject({
      port: hostPort.default(2379),
      /** One etcd member on each host named here: 1, 3 or 5 (default: placement's, three with three hosts). */
      hosts: z.array(dnsName).optional(),
    })
    .default({ port: 2379 }),
  demo: z
    .strictObject({
      table: sqlIdentifier.default('events'),
      rows: z.number().int().min(0).max(100_000_000).default(100_000),
      shardCount: z.number().int().min(1).max(1024).default(32),
    })
    .default({ table: 'events', rows: 100_000, shardCount: 32 }),
  /** Failover waits for an operator's approval (`citusctl approve`). */
  requireFailoverApproval: z.boolean().default(false),
  /**
   * What the monitor (`monitor-<cluster>`) does when a primary fails: auto fails over, approve
   * starts a failover that waits for `citusctl approve`, manual only reports.
   */
  failover: z.enum(['auto', 'approve', 'manual']).default('auto'),
  /** Let an automatic failover promote a standby that was not synchronous when the primary failed. */
  allowAsyncFailover: z.boolean().default(false),
  /** The Temporal Schedule `health-<cluster>` runs the healthCheck workflow this often. */
  health: z
    .strictObject({ intervalSeconds: z.number().int().min(10).max(86_400).default(60) })
    .default({ intervalSeconds: 60 }),
  /**
   * The supervised worker serves Prometheus metrics on 127.0.0.1:<port>/metrics (the Temporal SDK's
   * own worker metrics are merged in). One worker serves every cluster of a state
   * directory: the first `up` that starts it picks the port.
   */
  metrics: z.strictObject({ port: z.number().int().min(1024).max(65_534).default(9464) }).default({ port: 9464 }),
  /**
   * The cluster's own CA (created by `up`) issues every server's and client's certificate with this
   * lifetime; the Schedule `certs-<cluster>` renews each one with fewer than renewBeforeDays left.
   */
  tls: z
    .strictObject({
      certificateDays: z.number().int().min(2).max(825).default(90),
      renewBeforeDays: z.number().int().min(1).max(824).default(30),
      caDays: z.number().int().min(30).max(36_500).default(3650),
      /** How often the Schedule `certs-<cluster>` looks for certificates due for renewal. */
      renewCheckHours: z.number().int().min(1).max(168).default(24),
    })
    .default({ certificateDays: 90, renewBeforeDays: 30, caDays: 3650, renewCheckHours: 24 }),
  /**
   * Backups with pgBackRest (README "Backups"): every member archives its WAL into the cluster's
   * repository (a Docker volume that `down --volumes` keeps unless asked), base backups of every
   * group, consistent named restore points, and restores proven by a scheduled verification.
   */
  backup: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Full backups kept per group; WAL that no kept backup needs is expired with the rest. */
      retentionFull: z.number().int().min(1).max(100).default(2),
      /** The Schedule `backup-<cluster>` takes a base backup of every group this often. */
      intervalHours: z.number().int().min(1).max(720).default(24),
      /** The Schedule `restore-point-<cluster>` creates a cluster-wide restore point this often. */
      restorePointMinutes: z.number().int().min(1).max(1440).default(15),
      /** The Schedule `verify-backup-<cluster>` restores the newest backup into a scratch cluster this often. */
      verifyIntervalHours: z.number().int().min(1).max(720).default(24),
      /** `health` is degraded when the newest good backup is older than this. */
      maxBackupAgeHours: z.number().int().min(1).max(2160).default(26),
      /** `health` is degraded when the newest verified restore is older than this. */
      maxVerifyAgeHours: z.number().int().min(1).max(2160).default(50),
      repository: backupRepositorySchema.default({ type: 'volume' }),
    })
    .default({
      enabled: true,
      retentionFull: 2,
      intervalHours: 24,
      restorePointMinutes: 15,
      verifyIntervalHours: 24,
      maxBackupAgeHours: 26,
      maxVerifyAgeHours: 50,
      repository: { type: 'volume' },
    }),
});

/** Any subset of the spec's fields (the rest default): what a workflow started from the UI may pass. */
export type PartialSpecInput = z.input<typeof clusterSpecSchema>;
/** A spec written out in full where it names a cluster: name, worker groups and members given. */
export type ClusterSpecInput = PartialSpecInput & Required<Pick<PartialSpecInput, 'name' | 'workers' | 'members'>>;
export type ClusterSpec = z.output<typeof clusterSpecSchema>;
export type MemberSpec = ClusterSpec['members'][number];
export type ImageRole = 'postgres' | 'pgbouncer' | 'etcd';

/** Cross-field rules zod's shape cannot express. Each message names its field. */
function crossFieldErrors(spec: ClusterSpec): string[] {
  const errors: string[] = [];
  const groups = new Set<string>();
  spec.workers.forEach((g, i) => {
    if (g === COORDINATOR_GROUP)
      errors.push(`workers[${i}]: "${COORDINATOR_GROUP}" is reserved for the coordinator group`);
    if (groups.has(g)) errors.push(`workers[${i}]: duplicate worker group "${g}"`);
    groups.add(g);
  });
  const names = new Map<string, number>();
  spec.members.forEach((m, i) => {
    const field = `members[${i}]`;
    if (names.has(m.name))
      errors.push(`${field}.name: duplicate member "${m.name}" (also members[${names.get(m.name)}])`);
    else names.set(m.name, i);
    if (m.group !== COORDINATOR_GROUP && !groups.has(m.group)) {
      errors.push(
        `${field}.group: "${m.group}" is neither "${COORDINATOR_GROUP}" nor a worker group ` +
          `(${spec.workers.join(', ')})`,
      );
    }
  });
  for (const reserved of ['pgbouncer', 'etcd', 'backup']) {
    if (names.has(reserved)) errors.push(`members[${names.get(reserved)}].name: "${reserved}" is reserved`);
  }
  if (spec.tls.renewBeforeDays >= spec.tls.certificateDays)
    errors.push(
      `tls.renewBeforeDays: ${spec.tls.renewBeforeDays} must be less than tls.certificateDays ` +
        `(${spec.tls.certificateDays}), or every certificate is renewed at once`,
    );
  if (spec.tls.caDays <= spec.tls.certificateDays)
    errors.push(`tls.caDays: ${spec.tls.caDays} must exceed tls.certificateDays (${spec.tls.certificateDays})`);
  if (spec.backup.maxBackupAgeHours <= spec.backup.intervalHours)
    errors.push(
      `backup.maxBackupAgeHours: ${spec.backup.maxBackupAgeHours} must exceed backup.intervalHours ` +
        `(${spec.backup.intervalHours}), or health is degraded between two scheduled backups`,
    );
  if (spec.backup.maxVerifyAgeHours <= spec.backup.verifyIntervalHours)
    errors.push(
      `backup.maxVerifyAgeHours: ${spec.backup.maxVerifyAgeHours} must exceed backup.verifyIntervalHours ` +
        `(${spec.backup.verifyIntervalHours})`,
    );
  const repo = spec.backup.repository;
  if (repo.type === 's3') {
    const port = repo.endpoint.split(':')[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535))
      errors.push(`backup.repository.endpoint: port ${port} is not 1-65535`);
    if (repo.uriStyle === 'host' && repo.bucket.includes('.'))
      errors.push('backup.repository.bucket: a bucket name with dots needs uriStyle "path" (TLS names)');
  }
  if (spec.pgbouncer.poolSize < spec.pgbouncer.processes)
    errors.push(
      `pgbouncer.poolSize: ${spec.pgbouncer.poolSize} server connections cannot be shared by ` +
        `${spec.pgbouncer.processes} processes (each needs at least one)`,
    );
  const hostProblems = hostReferenceErrors(spec);
  errors.push(...hostProblems);
  if (!hostProblems.length) errors.push(...portErrors(spec));
  for (const g of [COORDINATOR_GROUP, ...spec.workers]) {
    if (!spec.members.some((m) => m.group === g)) {
      errors.push(
        g === COORDINATOR_GROUP ? 'members: no member in group "coordinator"' : `workers: group "${g}" has no members`,
      );
    }
  }
  return errors;
}

/** Every host a member, PgBouncer or etcd names exists; PgBouncer's and etcd's lists hold no host twice. */
function hostReferenceErrors(spec: ClusterSpec): string[] {
  const errors = spec.hosts ? hostErrors(spec.hosts) : [];
  const known = resolveHosts(spec.hosts).map((h) => h.name);
  const unknown = (field: string, host: string) =>
    known.includes(host) ? [] : [`${field}: "${host}" is not a host (hosts: ${known.join(', ')})`];
  spec.members.forEach((m, i) => m.host && errors.push(...unknown(`members[${i}].host`, m.host)));
  for (const part of ['pgbouncer', 'etcd'] as const) {
    const list = spec[part].hosts ?? [];
    list.forEach((h, i) => {
      errors.push(...unknown(`${part}.hosts[${i}]`, h));
      if (list.indexOf(h) !== i) errors.push(`${part}.hosts[${i}]: "${h}" is listed twice (one ${part} per host)`);
    });
  }
  const etcd = spec.etcd.hosts;
  if (etcd && ![1, 3, 5].includes(etcd.length))
    errors.push(`etcd.hosts: ${etcd.length} members cannot form a useful quorum: give 1, 3 or 5 hosts`);
  return errors;
}

/**
 * No two published ports alike on one host. With one host that is every port of the spec, as
 * always; with several, ports repeat freely across hosts, checked where placement puts each member.
 */
function portErrors(spec: ClusterSpec): string[] {
  const errors: string[] = [];
  const several = resolveHosts(spec.hosts).length > 1;
  const placed = placeCluster(spec);
  const owners = new Map<string, string>();
  const claim = (host: string, port: number, field: string) => {
    const owner = owners.get(`${host}:${port}`);
    if (owner) errors.push(`${field}: port ${port} is already used by ${owner}${several ? ` on host ${host}` : ''}`);
    else owners.set(`${host}:${port}`, field);
  };
  spec.members.forEach((m, i) => claim(placed.members[m.name]!, m.port, `members[${i}].port`));
  for (const h of placed.pgbouncer) claim(h, spec.pgbouncer.port, 'pgbouncer.port');
  for (const h of placed.etcd) claim(h, spec.etcd.port, 'etcd.port');
  // Several etcd members also publish their peer port, the next one (common/etcd-members.ts).
  if (placed.etcd.length > 1) for (const h of placed.etcd) claim(h, spec.etcd.port + 1, 'etcd.port + 1 (etcd peers)');
  return errors;
}

export class SpecError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid cluster spec:\n  - ${problems.join('\n  - ')}`);
    this.name = 'SpecError';
  }
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    '',
  );
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Defaults that depend on other fields, filled in before the schema's own: without members, two per
 * group of `workers` (or of the default groups); without workers, the groups the members name.
 * Anything malformed is left for the schema to report.
 */
export function withDerivedDefaults(input: unknown): unknown {
  if (!isRecord(input)) return input;
  const out = { ...input };
  if (out.members === undefined) {
    const workers =
      Array.isArray(out.workers) && out.workers.every((w) => typeof w === 'string')
        ? (out.workers as string[])
        : DEFAULT_WORKERS;
    out.members = defaultMembers(workers);
  } else if (out.workers === undefined && Array.isArray(out.members)) {
    const groups = out.members
      .map((m) => (isRecord(m) ? m.group : undefined))
      .filter((g): g is string => typeof g === 'string' && g !== COORDINATOR_GROUP);
    if (groups.length) out.workers = [...new Set(groups)];
  }
  return out;
}

/** Validates and fills defaults without throwing: the spec, or every problem (each naming its field). */
export function checkSpec(input: unknown): { ok: true; spec: ClusterSpec } | { ok: false; problems: string[] } {
  const parsed = clusterSpecSchema.safeParse(withDerivedDefaults(input === undefined ? {} : input));
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => {
        const where = formatPath(issue.path) || '(top level)';
        if (issue.code === 'unrecognized_keys')
          return `${where}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
        return `${where}: ${issue.message}`;
      }),
    };
  }
  const errors = crossFieldErrors(parsed.data);
  return errors.length ? { ok: false, problems: errors } : { ok: true, spec: parsed.data };
}

/** Validates and fills defaults; throws SpecError listing every problem. `undefined` is the default cluster. */
export function parseSpec(input: unknown): ClusterSpec {
  const r = checkSpec(input);
  if (!r.ok) throw new SpecError(r.problems);
  return r.spec;
}
