/**
 * The health report and its verdict, from what the healthCheck workflow observed
 * (health-observation.ts). Pure and deterministic: the workflow calls it with workflow time, the
 * unit tests with tables. Healthy means no problem; every problem names what is wrong (a member,
 * a group, Citus, PgBouncer, etcd, the monitor, a volume) in words an operator can act on. Notes
 * are worth knowing but do not degrade (maintenance mode, a Citus without the node health check).
 */
import type {
  CitusObservation,
  DiskUse,
  EtcdObservation,
  MonitorObservation,
  NodeObservation,
  NodeSqlView,
  PgBouncerObservation,
} from './health-observation';
import type { MemberStateName } from './member-state';
import { CONTAINER_DOWN, type ContainerStatus } from './monitor-observation';
import type { ClusterSpec } from './spec';
import { groupsOf, slotName } from './topology';
import { stuckReason } from './cluster-workflows';
import { lsnBytes } from './lsn';
import { EXPIRY_DEGRADED_DAYS, expiryVerdict, type CertificatesObservation, type ExpiryVerdict } from './certificates';
import {
  DEFAULT_BACKUP_THRESHOLDS,
  backupVerdict,
  type BackupObservation,
  type BackupReport,
  type BackupThresholds,
} from './backup-health';

export interface HealthThresholds extends BackupThresholds {
  lagBytes: number;
  lagSeconds: number;
  slotRetainedBytes: number;
  diskUsedPercent: number;
  /** The monitor's last probe may be this old (its probe activity reports every 30 s when nothing changes). */
  monitorStaleMs: number;
  poolMaxWaitSeconds: number;
  /** A certificate with fewer days left is a problem (the schedule renews them long before). */
  expiryDays: number;
}

export const DEFAULT_HEALTH_THRESHOLDS: HealthThresholds = {
  lagBytes: 64 * 1024 * 1024,
  lagSeconds: 30,
  slotRetainedBytes: 1024 * 1024 * 1024,
  diskUsedPercent: 90,
  monitorStaleMs: 120_000,
  poolMaxWaitSeconds: 5,
  expiryDays: EXPIRY_DEGRADED_DAYS,
  ...DEFAULT_BACKUP_THRESHOLDS,
};

export type HealthComponent =
  'member' | 'group' | 'citus' | 'pgbouncer' | 'etcd' | 'monitor' | 'workflow' | 'disk' | 'certificate' | 'backup';

export interface HealthProblem {
  component: HealthComponent;
  /** The member, group or part that is wrong. */
  subject: string;
  message: string;
}

export interface MemberReport {
  name: string;
  group: string;
  container: ContainerStatus;
  /** What the node says (pg_is_in_recovery); unreachable when it does not answer. */
  role: 'primary' | 'standby' | 'unreachable';
  /** etcd names it its group's primary. */
  livePrimary: boolean;
  /** Member state recorded in etcd. */
  state?: MemberStateName;
  timeline: number | null;
  lsn: string | null;
  /** Standbys: streams from the group's primary. */
  streaming: boolean | null;
  syncState: string | null;
  lagBytes: number | null;
  lagSeconds: number | null;
  /** Standbys: the slot on the group's primary that keeps WAL for it. */
  slot: string | null;
  slotActive: boolean | null;
  slotRetainedBytes: number | null;
  disk: DiskUse;
  error?: string;
}

export interface GroupReport {
  group: string;
  primary: string;
  /** etcd had no record: the spec's first member is assumed. */
  primaryFromSpec: boolean;
  streaming: string[];
  synchronous: string[];
}

export interface HealthReport {
  cluster: string;
  at: string;
  status: 'healthy' | 'degraded';
  problems: HealthProblem[];
  notes: string[];
  members: MemberReport[];
  groups: GroupReport[];
  citus: CitusObservation;
  pgbouncer: PgBouncerObservation;
  etcd: EtcdObservation;
  monitor: MonitorObservation;
  /** The certificate that expires first (absent when the store was not read). */
  certificates?: { nearest?: ExpiryVerdict['nearest'] };
  /** Archiving per group, the repository, the newest backup, restore point and verification (absent: not observed). */
  backups?: BackupReport;
}

export interface HealthInput {
  spec: ClusterSpec;
  /** Epoch ms of the check. */
  at: number;
  nodes: NodeObservation[];
  etcd: EtcdObservation;
  citus: CitusObservation;
  pgbouncer: PgBouncerObservation;
  monitor: MonitorObservation;
  /** The store's certificates; degraded when one has fewer than expiryDays left. */
  certificates?: CertificatesObservation;
  /** Archiving, the repository and the backup catalog (absent: not observed, as in a history from before). */
  backups?: BackupObservation;
  thresholds?: Partial<HealthThresholds>;
}

export const problemText = (p: HealthProblem): string => `${p.subject}: ${p.message}`;

const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;

/** The live primary of each group: etcd's record when it names a member of the group, else the spec's first member. */
export function livePrimaries(
  spec: ClusterSpec,
  etcd: EtcdObservation,
): Record<string, { primary: string; fromSpec: boolean }> {
  return Object.fromEntries(
    groupsOf(spec).map((g) => {
      const recorded = etcd.ok ? etcd.primaries[g.group] : undefined;
      const valid = recorded !== undefined && spec.members.some((m) => m.name === recorded && m.group === g.group);
      return [g.group, valid ? { primary: recorded, fromSpec: false } : { primary: g.primary.name, fromSpec: true }];
    }),
  );
}

function memberReport(
  name: string,
  group: string,
  primary: string,
  nodes: Map<string, NodeObservation>,
  etcd: EtcdObservation,
): MemberReport {
  const o = nodes.get(name);
  const sql = o?.sql ?? { ok: false as const, error: 'not observed' };
  const p = nodes.get(primary)?.sql;
  const pv: NodeSqlView | undefined = p?.ok && !p.inRecovery ? p : undefined;
  const isPrimary = name === primary;
  const row = isPrimary ? undefined : pv?.replication.find((r) => r.standby === name);
  const slot = isPrimary ? undefined : pv?.slots.find((s) => s.name === slotName(name));
  let lagBytes: number | null = row?.lagBytes ?? null;
  if (!isPrimary && lagBytes === null && pv && sql.ok) {
    const a = lsnBytes(pv.lsn);
    const b = lsnBytes(sql.replayLsn ?? sql.lsn);
    if (a !== null && b !== null) lagBytes = Number(a > b ? a - b : 0n);
  }
  const receiverFromPrimary =
    sql.ok && sql.inRecovery && sql.receiver?.status === 'streaming' && sql.receiver.senderHost === primary;
  const state = etcd.ok ? etcd.memberStates[name] : undefined;
  return {
    name,
    group,
    container: o?.container ?? 'unknown',
    role: sql.ok ? (sql.inRecovery ? 'standby' : 'primary') : 'unreachable',
    livePrimary: isPrimary,
    ...(state ? { state } : {}),
    timeline: sql.ok ? sql.timeline : null,
    lsn: sql.ok ? (sql.inRecovery ? (sql.replayLsn ?? sql.lsn) : sql.lsn) : null,
    streaming: isPrimary ? null : row?.state === 'streaming' || receiverFromPrimary,
    syncState: row?.syncState ?? null,
    lagBytes: isPrimary ? null : lagBytes,
    // replay_lag is NULL once an idle standby has caught up: no lag then.
    lagSeconds: isPrimary ? null : (row?.lagSeconds ?? (row && row.lagBytes === 0 ? 0 : null)),
    slot: isPrimary ? null : slotName(name),
    slotActive: slot ? slot.active : null,
    slotRetainedBytes: slot ? slot.retainedBytes : null,
    disk: o?.disk ?? { ok: false, error: 'not observed' },
    ...(sql.ok ? {} : { error: sql.error }),
  };
}

function memberProblems(m: MemberReport, primary: string, pvAnswers: boolean, t: HealthThresholds): HealthProblem[] {
  const out: HealthProblem[] = [];
  const add = (message: string) => out.push({ component: 'member', subject: m.name, message });
  if (m.state === 'fenced' || m.state === 'rejoining') add(`${m.state} (member state in etcd)`);
  if (CONTAINER_DOWN.includes(m.container) || m.container === 'paused' || m.container === 'restarting') {
    add(`container ${m.container}`);
    return out;
  }
  if (m.role === 'unreachable') {
    add(
      `does not answer SQL${m.container === 'unknown' ? ' (Docker did not answer either)' : ''}: ` +
        `${m.error ?? 'unknown error'}`,
    );
    return out;
  }
  if (m.livePrimary) {
    if (m.role !== 'primary') add(`etcd names it the primary of ${m.group}, but it is in recovery`);
    return out;
  }
  if (m.role === 'primary') {
    add(`accepts writes, but etcd names ${primary} the primary of ${m.group} (two writable members)`);
    return out;
  }
  if (pvAnswers && !m.streaming) add(`does not stream from ${primary}`);
  if (m.lagBytes !== null && m.lagBytes > t.lagBytes) add(`${mib(m.lagBytes)} of WAL behind ${primary}`);
  if (m.lagSeconds !== null && m.lagSeconds > t.lagSeconds)
    add(`replay ${m.lagSeconds.toFixed(0)} s behind ${primary}`);
  if (m.slotRetainedBytes !== null && m.slotRetainedBytes > t.slotRetainedBytes)
    add(`its slot ${m.slot} on ${primary} retains ${mib(m.slotRetainedBytes)} of WAL`);
  return out;
}

function citusProblems(
  spec: ClusterSpec,
  c: CitusObservation,
  primaries: Record<string, { primary: string }>,
): { problems: HealthProblem[]; notes: string[] } {
  const problems: HealthProblem[] = [];
  const notes: string[] = [];
  const add = (message: string) => problems.push({ component: 'citus', subject: 'citus', message });
  if (!c.ok) {
    add(`cannot read the metadata on the coordinator ${c.coordinator}: ${c.error}`);
    return { problems, notes };
  }
  if (!c.nodeHealth.available)
    notes.push(`citus: citus_check_cluster_node_health() unavailable (${c.nodeHealth.reason})`);
  else {
    const unreachable = new Map<string, Set<string>>(); // to -> the nodes that cannot reach it
    const notAsked = new Set<string>();
    for (const r of c.nodeHealth.rows) {
      if (r.result === true) continue;
      if (r.result === null) notAsked.add(r.from);
      else unreachable.set(r.to, (unreachable.get(r.to) ?? new Set<string>()).add(r.from));
    }
    for (const [to, from] of unreachable) add(`node health: ${to} unreachable from ${[...from].join(', ')}`);
    for (const from of notAsked) add(`node health: the coordinator cannot ask ${from}`);
  }
  const rows = c.distNodes;
  const coord = primaries.coordinator!.primary;
  const coordRow = rows.find((r) => r.groupid === 0);
  if (!coordRow) add('pg_dist_node has no coordinator row');
  else if (coordRow.nodename !== coord)
    add(`pg_dist_node names ${coordRow.nodename} the coordinator, etcd names ${coord}`);
  for (const g of groupsOf(spec).filter((x) => !x.isCoordinator)) {
    const live = primaries[g.group]!.primary;
    const members = [g.primary, ...g.standbys].map((m) => m.name);
    const primaryRows = rows.filter((r) => r.groupid !== 0 && r.noderole === 'primary' && members.includes(r.nodename));
    if (!primaryRows.length) add(`pg_dist_node has no primary of ${g.group} (etcd names ${live})`);
    for (const r of primaryRows) {
      if (r.nodename !== live) add(`pg_dist_node names ${r.nodename} a primary of ${g.group}, etcd names ${live}`);
      else if (!r.isactive) add(`pg_dist_node marks ${r.nodename} (${g.group}) inactive`);
    }
  }
  for (const r of rows) {
    if (r.hasmetadata && !r.metadatasynced) add(`metadata not synced to ${r.nodename}:${r.nodeport}`);
    if (!spec.members.some((m) => m.name === r.nodename) && r.nodename !== 'localhost')
      notes.push(`citus: pg_dist_node has node ${r.nodename}:${r.nodeport}, not a member of the spec`);
  }
  return { problems, notes };
}

function pgbouncerProblems(b: PgBouncerObservation, coordinator: string, t: HealthThresholds): HealthProblem[] {
  const add = (message: string): HealthProblem => ({ component: 'pgbouncer', subject: 'pgbouncer', message });
  if (!b.ok) return [add(`admin console not reachable: ${b.error}`)];
  const out: HealthProblem[] = [];
  if (!b.database) out.push(add('has no entry for the cluster database'));
  else {
    if (b.database.host !== coordinator)
      out.push(add(`routes to ${b.database.host || '(no host)'}, the coordinator primary is ${coordinator}`));
    if (b.database.paused) out.push(add('the cluster database is paused (PAUSE without RESUME)'));
  }
  for (const p of b.pools)
    if (p.maxWaitSeconds >= t.poolMaxWaitSeconds)
      out.push(
        add(`${p.clWaiting} client(s) of ${p.user}@${p.database} wait for a server (oldest ${p.maxWaitSeconds} s)`),
      );
  return out;
}

function monitorProblems(
  m: MonitorObservation,
  at: number,
  t: HealthThresholds,
): { problems: HealthProblem[]; notes: string[] } {
  const add = (message: string): HealthProblem => ({ component: 'monitor', subject: 'monitor', message });
  if (m.status !== 'RUNNING') {
    const why =
      m.status === 'NOT_FOUND'
        ? 'has never run'
        : m.status === 'UNKNOWN'
          ? `cannot be asked (${m.error ?? 'no answer'})`
          : `is ${m.status.toLowerCase()}`;
    return {
      problems: [add(`${m.workflowId} ${why}: nothing heals the cluster (\`citusctl up\` starts it)`)],
      notes: [],
    };
  }
  if (!m.view)
    return {
      problems: [
        add(
          `${m.workflowId} runs but does not answer its status query (is a long-lived worker polling?): ` +
            `${m.error ?? 'no answer'}`,
        ),
      ],
      notes: [],
    };
  const problems: HealthProblem[] = [];
  const notes: string[] = [];
  const last = m.view.lastProbeAt ? Date.parse(m.view.lastProbeAt) : NaN;
  if (Number.isNaN(last)) problems.push(add(`${m.workflowId} has not probed the cluster yet`));
  else if (at - last > t.monitorStaleMs)
    problems.push(add(`${m.workflowId} last probed ${Math.round((at - last) / 1000)} s ago`));
  const mt = m.view.maintenance;
  if (mt.cluster || mt.groups.length)
    notes.push(
      'monitor: maintenance ' +
        `(${mt.cluster ? 'whole cluster' : `groups ${mt.groups.join(', ')}`}${mt.reason ? `: ${mt.reason}` : ''}): ` +
        'no automatic repair',
    );
  if (m.view.lastError) notes.push(`monitor: last error: ${m.view.lastError}`);
  return { problems, notes };
}

/** The full report and its verdict. */
export function buildHealthReport(input: HealthInput): HealthReport {
  const t = { ...DEFAULT_HEALTH_THRESHOLDS, ...input.thresholds };
  const { spec, etcd } = input;
  const nodes = new Map(input.nodes.map((n) => [n.member, n]));
  const primaries = livePrimaries(spec, etcd);
  const problems: HealthProblem[] = [];
  const notes: string[] = [];
  const members: MemberReport[] = [];
  const groups: GroupReport[] = [];

  if (!etcd.ok) problems.push({ component: 'etcd', subject: 'etcd', message: `not reachable: ${etcd.error}` });
  else for (const a of etcd.alarms) problems.push({ component: 'etcd', subject: 'etcd', message: `alarm ${a}` });

  for (const g of groupsOf(spec)) {
    const { primary, fromSpec } = primaries[g.group]!;
    if (fromSpec && etcd.ok)
      notes.push(`${g.group}: etcd has no primary record; ${primary} (the spec's first member) assumed`);
    const p = nodes.get(primary)?.sql;
    const pvAnswers = !!p?.ok && !p.inRecovery;
    const reports = [g.primary, ...g.standbys].map((m) => memberReport(m.name, g.group, primary, nodes, etcd));
    members.push(...reports);
    for (const m of reports) problems.push(...memberProblems(m, primary, pvAnswers, t));
    const standbys = reports.filter((m) => !m.livePrimary);
    const streaming = standbys.filter((m) => m.streaming).map((m) => m.name);
    const synchronous = standbys.filter((m) => m.syncState === 'sync' || m.syncState === 'quorum').map((m) => m.name);
    groups.push({ group: g.group, primary, primaryFromSpec: fromSpec, streaming, synchronous });
    if (pvAnswers && standbys.length && spec.durability === 'synchronous' && !synchronous.length) {
      problems.push({
        component: 'group',
        subject: g.group,
        message: `no synchronous standby: commits on ${primary} are not copied before they are acknowledged`,
      });
    }
  }

  for (const m of members) {
    if (!m.disk.ok) continue;
    const pct = m.disk.fsSizeBytes > 0 ? (100 * (m.disk.fsSizeBytes - m.disk.fsAvailBytes)) / m.disk.fsSizeBytes : 0;
    if (pct > t.diskUsedPercent)
      problems.push({
        component: 'disk',
        subject: m.name,
        message: `the filesystem of its volume is ${pct.toFixed(0)}% full (${mib(m.disk.fsAvailBytes)} free)`,
      });
  }

  const citus = citusProblems(spec, input.citus, primaries);
  problems.push(...citus.problems);
  notes.push(...citus.notes);
  problems.push(...pgbouncerProblems(input.pgbouncer, primaries.coordinator!.primary, t));
  const monitor = monitorProblems(input.monitor, input.at, t);
  problems.push(...monitor.problems);
  notes.push(...monitor.notes);
  for (const w of input.monitor.stuckWorkflows ?? [])
    problems.push({ component: 'workflow', subject: w.workflowId, message: stuckReason(w) });
  const expiry = input.certificates ? expiryVerdict(input.certificates, input.at, t.expiryDays) : undefined;
  for (const p of expiry?.problems ?? []) problems.push({ component: 'certificate', ...p });
  const backups = input.backups ? backupVerdict(spec, input.backups, input.at, t) : undefined;
  for (const p of backups?.problems ?? []) problems.push({ component: 'backup', ...p });
  notes.push(...(backups?.notes ?? []));

  return {
    cluster: spec.name,
    at: new Date(input.at).toISOString(),
    status: problems.length ? 'degraded' : 'healthy',
    problems,
    notes,
    members,
    groups,
    citus: input.citus,
    pgbouncer: input.pgbouncer,
    etcd,
    monitor: input.monitor,
    ...(expiry ? { certificates: expiry.nearest ? { nearest: expiry.nearest } : {} } : {}),
    ...(backups ? { backups: backups.report } : {}),
  };
}
