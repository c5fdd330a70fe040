/**
 * healthCheck: one full health report of a cluster, run by the Temporal Schedule `health-<cluster>`
 * (client/health-schedule.ts) and by `citusctl health`. It observes every part in parallel (members,
 * etcd, PgBouncer, the monitor; then Citus on the coordinator etcd names), lets the pure verdict
 * (common/health-report.ts) decide healthy or degraded, stores the report in etcd and returns it:
 * each run's result is an audit trail in the Temporal UI. It changes nothing in the cluster.
 */
import { patched, setHandler } from '@temporalio/workflow';
import { buildHealthReport, livePrimaries, type HealthReport } from '../common/health-report';
import type { HealthCheckInput } from '../common/inputs';
import { ProgressTracker } from '../common/progress';
import { errorMessage } from '../common/error-message';
import { observe } from './activity-proxies';
import { progressQuery } from './progress-query';
import { checkedInput } from './checked-input';
import { specFor } from './cluster-input';
import { tagWorkflow } from './tag-workflow';
import { monitorStatusQuery, monitorWorkflowId } from './monitor';

/** `{"cluster": "demo"}` (the schedule, the CLI) or `{spec}`, optional `thresholds`; schema in common/inputs. */
export type { HealthCheckInput };

export interface HealthCheckResult extends HealthReport {
  /** Where the report is kept in etcd; ok false when etcd did not take it. */
  stored: { key?: string; ok: boolean; error?: string };
}

export const HEALTH_STEPS = ['validate', 'observe', 'citus', 'backups', 'verdict', 'store'] as const;

export async function healthCheck(started: HealthCheckInput): Promise<HealthCheckResult> {
  const progress = new ProgressTracker('healthCheck', HEALTH_STEPS, () => Date.now());
  setHandler(progressQuery, () => progress.snapshot());
  const { input, spec } = await progress.run('validate', async () => {
    const i = checkedInput('healthCheck', started);
    return { input: i, spec: await specFor(i) };
  });
  await tagWorkflow(spec.name);
  const at = Date.now();

  const [nodes, etcd, pgbouncer, monitor, certificates] = await progress.run(
    'observe',
    () =>
      Promise.all([
        observe.healthNodes({ spec }),
        observe.healthEtcd({ spec }),
        observe.healthPgBouncer({ spec }),
        observe.healthMonitor({
          workflowId: monitorWorkflowId(spec.name),
          query: monitorStatusQuery.name,
          cluster: spec.name,
        }),
        observe.healthCertificates({ spec }),
      ]),
    ([n, e]) => `${n.length} members, etcd ${e.ok ? 'ok' : 'unreachable'}`,
  );
  const primaries = livePrimaries(spec, etcd);
  const coordinator = primaries.coordinator!.primary;
  const citus = await progress.run(
    'citus',
    () => observe.healthCitus({ spec, coordinator }),
    (c) => (c.ok ? `on ${coordinator}` : c.error),
  );

  // Guarded: a check that was running when the worker was upgraded replays without this step.
  const backups = patched('health-backups')
    ? await progress.run(
        'backups',
        () =>
          observe.healthBackups({
            spec,
            primaries: Object.fromEntries(Object.entries(primaries).map(([g, p]) => [g, p.primary])),
          }),
        (b) => (b.enabled ? `${b.archive.length} group(s) archiving` : 'disabled'),
      )
    : progress.skip('backups', 'a check started before backups');

  progress.start('verdict');
  const report = buildHealthReport({
    spec,
    at,
    nodes,
    etcd,
    citus,
    pgbouncer,
    monitor,
    certificates,
    ...(backups ? { backups } : {}),
    ...(input.thresholds ? { thresholds: input.thresholds } : {}),
  });
  progress.finish(
    'verdict',
    report.status === 'healthy' ? 'healthy' : `degraded: ${report.problems.length} problem(s)`,
  );

  let stored: HealthCheckResult['stored'];
  try {
    const r = await progress.run(
      'store',
      () => observe.storeHealthReport({ spec, report }),
      (x) => x.key,
    );
    stored = { key: r.key, ok: true };
  } catch (err) {
    stored = { ok: false, error: errorMessage(err) }; // the report stands; etcd's absence is already a problem in it
  }
  return { ...report, stored };
}
