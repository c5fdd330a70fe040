/**
 * What every runbook after setup accepts: today's input with the whole spec (the CLI, the monitor),
 * or only the cluster's name (the Temporal UI: `{"cluster":"demo","group":"g1"}`), in which case the
 * spec stored at setup is read through an activity (non-retryable UnknownCluster when there is none).
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { ErrorTypes } from '../common/error-types';
import type { ClusterSpec, PartialSpecInput } from '../common/spec';
import { validation } from './activity-proxies';

export interface ClusterRef {
  /** The whole spec (wins when both are given); any field left out takes its default. */
  spec?: PartialSpecInput;
  /** A cluster set up before: its stored spec is used. */
  cluster?: string;
}

export async function specFor(input: ClusterRef): Promise<ClusterSpec> {
  if (!input || typeof input !== 'object') throw ApplicationFailure.nonRetryable('the input must be a JSON object: {"cluster": "demo", ...} or {"spec": {...}, ...}', ErrorTypes.BadConfig);
  if (input.spec !== undefined) {
    const spec = await validation.validateSpec(input.spec);
    if (input.cluster !== undefined && input.cluster !== spec.name) {
      throw ApplicationFailure.nonRetryable(`cluster "${String(input.cluster)}" and spec.name "${spec.name}" differ: give one of them`, ErrorTypes.BadConfig);
    }
    return spec;
  }
  if (input.cluster !== undefined) return validation.loadClusterSpec({ cluster: input.cluster });
  throw ApplicationFailure.nonRetryable('name the cluster ({"cluster": "demo", ...}) or give its whole spec ({"spec": {...}, ...})', ErrorTypes.BadConfig);
}
