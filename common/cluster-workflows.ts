/**
 * Which workflows and schedules belong to a cluster, from their ids (`setup-<c>`, `failover-<c>-<g>`,
 * `health-<c>`, ...) or, where set, the CitusCluster search attribute. Pure: `down` uses it to find
 * what to cancel before it removes anything.
 */

import { WORKFLOW_ID_KINDS } from './workflow-ids';

/** Every id kind a cluster's workflows or schedules use, each followed by `-<cluster>`: those the id builders make. */
export const WORKFLOW_KINDS: readonly string[] = WORKFLOW_ID_KINDS;

/** Id prefixes for a visibility query (`WorkflowId STARTS_WITH ...`); a superset, refine with ownedByCluster. */
export function clusterIdPrefixes(cluster: string): string[] {
  return WORKFLOW_KINDS.map((k) => `${k}-${cluster}`);
}

/** Visibility query: running workflows whose id starts with one of the cluster's prefixes. */
export function runningWorkflowsQuery(cluster: string, withSearchAttribute: boolean): string {
  const ids = clusterIdPrefixes(cluster).map((p) => `WorkflowId STARTS_WITH ${quote(p)}`);
  if (withSearchAttribute) ids.push(`CitusCluster = ${quote(cluster)}`);
  return `(${ids.join(' OR ')}) AND ExecutionStatus = "Running"`;
}

const quote = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;

/**
 * True when `id` is one of `cluster`'s: `<kind>-<cluster>` or `<kind>-<cluster>-<anything>`
 * (a group, a member, a schedule's timestamp). Cluster names may contain "-", so `failover-demo-x-g1`
 * matches cluster "demo" too; it is left to "demo-x" when that cluster is known (otherClusters).
 * A CitusCluster search attribute on the execution, when present, decides alone.
 */
export function ownedByCluster(
  id: string,
  cluster: string,
  otherClusters: readonly string[] = [],
  taggedCluster?: string,
): boolean {
  if (taggedCluster !== undefined) return taggedCluster === cluster;
  // A kind that a longer kind extends (restore, restore-point) does not claim the longer kind's ids:
  // `restore-point-demo-r1` is demo's restore point, not the restore of a cluster named "point-demo-r1".
  const longerKindClaims = (k: string) =>
    WORKFLOW_KINDS.some((l) => l.length > k.length && l.startsWith(`${k}-`) && id.startsWith(`${l}-`));
  const underKind = (c: string) =>
    WORKFLOW_KINDS.some((k) => (id === `${k}-${c}` || id.startsWith(`${k}-${c}-`)) && !longerKindClaims(k));
  if (!underKind(cluster)) return false;
  return !otherClusters.some((o) => o !== cluster && o.startsWith(`${cluster}-`) && underKind(o));
}

/** A running workflow of the cluster whose workflow task keeps failing: it makes no progress until someone acts. */
export interface StuckWorkflow {
  workflowId: string;
  runId: string;
  type: string;
  /** The pending workflow task's attempt (> 1: it failed before). */
  attempt: number;
  /** The last workflow task failure in its history, when there is one. */
  failure?: string;
}

/** A pending workflow task on its second attempt or later has failed at least once and is being retried. */
export const workflowTaskKeepsFailing = (attempt: number | null | undefined): boolean => (attempt ?? 0) > 1;

/** Why it is stuck, for a report line that already names the workflow. */
export const stuckReason = (w: StuckWorkflow): string =>
  `${w.type}: its workflow task keeps failing (attempt ${w.attempt})${w.failure ? `: ${w.failure}` : ''}; it ` +
  'makes no progress until it is fixed or terminated';

export const describeStuck = (w: StuckWorkflow): string => `${w.workflowId} (${stuckReason(w)})`;
