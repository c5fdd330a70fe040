/**
 * The typed search attributes citusctl sets on its workflows, so the Temporal UI and
 * `temporal workflow list --query "CitusCluster='demo'"` filter by cluster or group. Registered
 * on the embedded dev server at start; on an external server by the commands in the README.
 * Pure: safe in workflows.
 */
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';

export const CITUS_CLUSTER = defineSearchAttributeKey('CitusCluster', SearchAttributeType.KEYWORD);
export const CITUS_GROUP = defineSearchAttributeKey('CitusGroup', SearchAttributeType.KEYWORD);

/** Name -> type, as `temporal server start-dev --search-attribute NAME=TYPE` and the operator API spell them. */
export const CITUS_SEARCH_ATTRIBUTES: Readonly<Record<string, 'Keyword'>> = {
  [CITUS_CLUSTER.name]: 'Keyword',
  [CITUS_GROUP.name]: 'Keyword',
};

/** The pairs for one workflow: its cluster, and its group when it acts on one. */
export function citusSearchAttributes(cluster: string, group?: string): SearchAttributePair[] {
  return [{ key: CITUS_CLUSTER, value: cluster }, ...(group ? [{ key: CITUS_GROUP, value: group }] : [])];
}
