/**
 * A cluster's running workflows as Temporal lists them (by id prefix, and by the CitusCluster
 * search attribute where the server knows it), and among them those stuck on a failing workflow
 * task. Used by `citusctl down` (what to cancel), `citusctl status` and the health check (what
 * makes no progress: healing may be off under the very ids the monitor and the CLI attach to).
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import {
  ownedByCluster,
  runningWorkflowsQuery,
  workflowTaskKeepsFailing,
  type StuckWorkflow,
} from '../common/cluster-workflows';

export async function listRunningClusterWorkflows(
  client: Client,
  cluster: string,
  others: readonly string[] = [],
): Promise<WorkflowExecutionInfo[]> {
  const collect = async (withSearchAttribute: boolean) => {
    const out: WorkflowExecutionInfo[] = [];
    for await (const w of client.workflow.list({ query: runningWorkflowsQuery(cluster, withSearchAttribute) }))
      out.push(w);
    return out;
  };
  let listed: WorkflowExecutionInfo[];
  try {
    listed = await collect(true);
  } catch (err) {
    const text = `${(err as Error).message} ${(err as { cause?: Error }).cause?.message ?? ''}`;
    if (!/CitusCluster/.test(text)) throw err;
    listed = await collect(false); // the attribute is not registered on this server
  }
  const tag = (w: WorkflowExecutionInfo) => {
    const v = w.searchAttributes?.CitusCluster; // untyped form: works whatever type the attribute was registered with
    return Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
  };
  return listed.filter((w) => ownedByCluster(w.workflowId, cluster, others, tag(w)));
}

/**
 * The last workflow task failure in the history's newest events (later attempts of a failing task are not recorded).
 */
async function lastTaskFailure(client: Client, workflowId: string, runId: string): Promise<string | undefined> {
  const r = await client.workflowService.getWorkflowExecutionHistoryReverse({
    namespace: client.options.namespace,
    execution: { workflowId, runId },
    maximumPageSize: 50,
  });
  for (const e of r.history?.events ?? []) {
    const failure = e.workflowTaskFailedEventAttributes?.failure;
    if (failure) return [failure.message, failure.cause?.message].filter(Boolean).join(': ') || 'failed (no message)';
  }
  return undefined;
}

/** Running workflows of the cluster whose pending workflow task is on its second attempt or later. */
export async function stuckClusterWorkflows(
  client: Client,
  cluster: string,
  others: readonly string[] = [],
): Promise<StuckWorkflow[]> {
  const stuck: StuckWorkflow[] = [];
  for (const w of await listRunningClusterWorkflows(client, cluster, others)) {
    const d = await client.workflow
      .getHandle(w.workflowId, w.runId)
      .describe()
      .catch(() => undefined);
    const attempt = d?.raw.pendingWorkflowTask?.attempt;
    if (!d || !workflowTaskKeepsFailing(attempt)) continue;
    const failure = await lastTaskFailure(client, w.workflowId, w.runId).catch(() => undefined);
    stuck.push({
      workflowId: w.workflowId,
      runId: w.runId,
      type: w.type,
      attempt: attempt!,
      ...(failure ? { failure: failure.split('\n')[0]!.slice(0, 300) } : {}),
    });
  }
  return stuck;
}
