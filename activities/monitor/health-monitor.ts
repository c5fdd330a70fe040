/**
 * The health check's view of the monitor workflow: its execution status and, while it runs, its
 * `status` query. Asked through the worker's own Temporal client (Context.client, created once
 * per worker by the SDK): a read, never a start or a signal, so the monitor's rule that
 * activities act on the cluster and workflows on workflows still holds.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { stuckClusterWorkflows } from '../../lib/cluster-workflow-list';
import type { MonitorObservation, MonitorView } from '../../common/health-observation';
import type { MonitorStatusLike } from '../../common/monitor-status';
import { errMessage, withDeadline } from '../../lib/deadline';

const TEMPORAL_MS = 5_000;

export function monitorView(s: MonitorStatusLike): MonitorView {
  const m = s.maintenance ?? {};
  return {
    state: typeof s.state === 'string' ? s.state : 'unknown',
    maintenance: {
      cluster: m.cluster === true,
      groups: Array.isArray(m.groups) ? m.groups.filter((g): g is string => typeof g === 'string') : [],
      ...(typeof m.reason === 'string' && m.reason ? { reason: m.reason } : {}),
    },
    ...(typeof s.lastProbeAt === 'string' ? { lastProbeAt: s.lastProbeAt } : {}),
    ...(typeof s.lastError === 'string' && s.lastError ? { lastError: s.lastError } : {}),
    ...(typeof s.runs === 'number' ? { runs: s.runs } : {}),
  };
}

export async function observeMonitor(
  workflowId: string,
  queryName: string,
  cluster?: string,
): Promise<MonitorObservation> {
  let client;
  try {
    client = Context.current().client;
  } catch (err) {
    return { workflowId, status: 'UNKNOWN', error: `no Temporal client here: ${errMessage(err)}` };
  }
  // Every workflow of the cluster stuck on a failing task (the monitor among them): a problem of its own.
  const stuck =
    cluster === undefined
      ? undefined
      : await withDeadline(
          client.withDeadline(Date.now() + TEMPORAL_MS, () => stuckClusterWorkflows(client, cluster)),
          TEMPORAL_MS + 1_000,
          'list stuck workflows',
        ).catch(() => undefined);
  const observation = await observeMonitorWorkflow(client, workflowId, queryName);
  return stuck?.length ? { ...observation, stuckWorkflows: stuck } : observation;
}

async function observeMonitorWorkflow(
  client: Client,
  workflowId: string,
  queryName: string,
): Promise<MonitorObservation> {
  const handle = client.workflow.getHandle(workflowId);
  // A gRPC deadline on each call (nothing left in flight), and our own in case the connection ignores it.
  const bounded = <T>(fn: () => Promise<T>, what: string) =>
    withDeadline(client.withDeadline(Date.now() + TEMPORAL_MS, fn), TEMPORAL_MS + 1_000, what);
  let status: string;
  try {
    status = (await bounded(() => handle.describe(), 'describe')).status.name;
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return { workflowId, status: 'NOT_FOUND' };
    return { workflowId, status: 'UNKNOWN', error: errMessage(err) };
  }
  if (status !== 'RUNNING') return { workflowId, status };
  try {
    // A running workflow's query needs a worker polling its task queue: bounded, it says whether one does.
    const s = await bounded(() => handle.query<MonitorStatusLike>(queryName), `query ${queryName}`);
    return { workflowId, status, view: monitorView(s) };
  } catch (err) {
    return { workflowId, status, error: errMessage(err) };
  }
}
