/**
 * Prometheus metrics of the long-lived worker (prom-client): what the monitor's probe sees of
 * every member, and the failovers and switchovers this worker recorded. Served with the Temporal
 * SDK's own worker metrics by worker/metrics-server.ts. Counters start at 0 when the worker
 * starts (Prometheus's rate() handles the reset), and every label set of a counter exists at 0 as
 * soon as its cluster is known (the monitor's first probe round): a series that appears only at
 * its first increment has no earlier sample, so `increase(...[5m])` would miss that first failover.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { ClusterObservation } from '../common/monitor-observation';
import { groupArchiveReport, type BackupObservation } from '../common/backup-health';
import type { ClusterSpec } from '../common/spec';
import { COORDINATOR_GROUP } from '../common/names';

/** What activities report; a no-op where no metrics are served (a CLI's in-process worker). */
export interface MetricsSink {
  /** One probe round of the monitor. */
  observeCluster(spec: ClusterSpec, obs: ClusterObservation): void;
  /** A failover or switchover recorded in etcd (kind and outage from its event). */
  primaryChanged(cluster: string, group: string, event: Record<string, unknown>): void;
  /** One health check's view of backups: archiving per group, the repository, the newest records. */
  observeBackups(spec: ClusterSpec, obs: BackupObservation): void;
}

export class PrometheusMetrics implements MetricsSink {
  readonly registry = new Registry();
  private readonly up = this.memberGauge(
    'citusctl_member_up',
    'The member answers SQL (1) or not (0), as the monitor last probed it',
  );
  private readonly primary = this.memberGauge(
    'citusctl_member_is_primary',
    'The member answers SQL and is not in recovery',
  );
  private readonly lag = this.memberGauge(
    'citusctl_replication_lag_bytes',
    "A standby's replay lag behind its primary in bytes, as the primary reports it",
  );
  private readonly timeline = this.memberGauge('citusctl_member_timeline', "The member's timeline");
  private readonly probe = this.memberGauge(
    'citusctl_monitor_probe_seconds',
    'How long the last SQL probe of the member took',
  );
  private readonly failovers = new Counter({
    name: 'citusctl_failovers_total',
    help: 'Failovers recorded by this worker since it started',
    labelNames: ['cluster', 'group'],
    registers: [this.registry],
  });
  private readonly switchovers = new Counter({
    name: 'citusctl_switchovers_total',
    help: 'Switchovers recorded by this worker since it started',
    labelNames: ['cluster', 'group'],
    registers: [this.registry],
  });
  private readonly outage = this.gauge(
    'citusctl_last_failover_outage_seconds',
    "The last failover's write outage window (first step to Citus pointing at the new primary)",
    ['cluster', 'group'],
  );

  private readonly lastBackup = this.gauge(
    'citusctl_backup_last_timestamp_seconds',
    'When the newest recorded backup finished (Unix time), as the health check last read the catalog',
    ['cluster'],
  );
  private readonly lastVerified = this.gauge(
    'citusctl_backup_last_verified_restore_timestamp_seconds',
    'When the newest successful verification (a restore of a backup into a scratch cluster, checked) finished',
    ['cluster'],
  );
  private readonly backupSize = this.gauge(
    'citusctl_backup_size_bytes',
    "The newest backup's size over every group: the databases (kind=database) and what it takes in the " +
      'repository (kind=repository)',
    ['cluster', 'kind'],
  );
  private readonly repoUsed = this.gauge(
    'citusctl_backup_repository_used_bytes',
    "Bytes in the cluster's backup repository (backups, WAL archive, catalog)",
    ['cluster'],
  );
  private readonly archiveLag = this.gauge(
    'citusctl_wal_archive_lag_segments',
    "Completed WAL segments of the group's primary not archived yet",
    ['cluster', 'group'],
  );
  private readonly archiveFailing = this.gauge(
    'citusctl_wal_archive_failing',
    "The group primary's archive_command fails (1: its last failure is newer than its last success)",
    ['cluster', 'group'],
  );

  /** Groups whose counters exist (at 0 or more), by `<cluster>/<group>`. */
  private readonly counted = new Set<string>();

  private gauge<L extends string>(name: string, help: string, labelNames: L[]): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  /** A gauge per member: labelled by cluster, group and member. */
  private memberGauge(name: string, help: string): Gauge<'cluster' | 'group' | 'member'> {
    return this.gauge(name, help, ['cluster', 'group', 'member']);
  }

  /** Every counter's label set for each group of the cluster, at 0 (a no-op once they exist). */
  clusterKnown(spec: ClusterSpec): void {
    for (const group of [COORDINATOR_GROUP, ...spec.workers]) this.countGroup(spec.name, group);
  }

  private countGroup(cluster: string, group: string): void {
    const key = `${cluster}/${group}`;
    if (this.counted.has(key)) return;
    this.counted.add(key);
    for (const counter of [this.failovers, this.switchovers]) counter.inc({ cluster, group }, 0);
  }

  observeCluster(spec: ClusterSpec, obs: ClusterObservation): void {
    this.clusterKnown(spec);
    const groupOf = new Map(spec.members.map((m) => [m.name, m.group]));
    const lagOf = new Map<string, number>();
    for (const m of Object.values(obs.members)) {
      if (m.sql.ok && !m.sql.inRecovery)
        for (const peer of m.sql.replication) if (peer.lagBytes !== null) lagOf.set(peer.name, peer.lagBytes);
    }
    for (const m of Object.values(obs.members)) {
      const labels = { cluster: spec.name, group: groupOf.get(m.member) ?? 'unknown', member: m.member };
      this.up.set(labels, m.sql.ok ? 1 : 0);
      this.primary.set(labels, m.sql.ok && !m.sql.inRecovery ? 1 : 0);
      this.probe.set(labels, m.sql.ms / 1000);
      if (m.sql.ok && m.sql.timeline !== null) this.timeline.set(labels, m.sql.timeline);
      const lag = lagOf.get(m.member);
      if (m.sql.ok && m.sql.inRecovery && lag !== undefined) this.lag.set(labels, lag);
      else this.lag.remove(labels); // no lag for a primary or a standby nobody reports
    }
  }

  primaryChanged(cluster: string, group: string, event: Record<string, unknown>): void {
    this.countGroup(cluster, group);
    if (event.kind === 'failover') {
      this.failovers.inc({ cluster, group });
      if (typeof event.outageWindowMs === 'number') this.outage.set({ cluster, group }, event.outageWindowMs / 1000);
    } else if (event.kind === 'switchover') {
      this.switchovers.inc({ cluster, group });
    }
  }

  observeBackups(spec: ClusterSpec, obs: BackupObservation): void {
    const cluster = spec.name;
    if (!obs.enabled) return;
    for (const a of obs.archive) {
      const g = groupArchiveReport(a);
      const labels = { cluster, group: g.group };
      if (!a.ok) continue; // unknown: keep the last reading rather than invent one
      this.archiveFailing.set(labels, g.failing ? 1 : 0);
      if (g.lagSegments !== null) this.archiveLag.set(labels, g.lagSegments);
      else this.archiveLag.remove(labels);
    }
    if (obs.repo.ok) this.repoUsed.set({ cluster }, obs.repo.usedBytes);
    if (!obs.catalog.ok) return;
    const { newestBackup: b, newestOkVerification: v } = obs.catalog;
    if (b) {
      this.lastBackup.set({ cluster }, Date.parse(b.finishedAt) / 1000);
      this.backupSize.set({ cluster, kind: 'database' }, b.sizeBytes);
      this.backupSize.set({ cluster, kind: 'repository' }, b.repoSizeBytes);
    }
    if (v) this.lastVerified.set({ cluster }, Date.parse(v.finishedAt) / 1000);
  }
}
