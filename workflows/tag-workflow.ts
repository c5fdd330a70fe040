/**
 * Sets CitusCluster (and CitusGroup) on the running workflow when its starter did not (the Temporal
 * UI, `temporal workflow execute`), so the UI filters by cluster or group however it was started.
 * Only when the namespace knows them: an unknown attribute would fail every workflow task. Best
 * effort: a failed lookup leaves the workflow untagged, nothing else.
 */
import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { CITUS_CLUSTER, citusSearchAttributes } from '../common/search-attributes';
import { bestEffort } from './activity-proxies';

export async function tagWorkflow(cluster: string, group?: string): Promise<void> {
  const current = workflowInfo().typedSearchAttributes;
  const missing = citusSearchAttributes(cluster, group).filter((p) => current.get(p.key) === undefined);
  if (!missing.length) return;
  // Set at start means registered: no need to ask.
  const registered =
    current.get(CITUS_CLUSTER) !== undefined || (await bestEffort.searchAttributesRegistered().catch(() => false));
  if (registered) upsertSearchAttributes(missing);
}

/** For children started by a workflow that carries CitusCluster (so the attributes exist): theirs, with their group. */
export function childSearchAttributes(
  cluster: string,
  group?: string,
): ReturnType<typeof citusSearchAttributes> | undefined {
  return workflowInfo().typedSearchAttributes.get(CITUS_CLUSTER) !== undefined
    ? citusSearchAttributes(cluster, group)
    : undefined;
}
