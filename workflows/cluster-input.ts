/**
 * What every runbook after setup accepts: the cluster's name (`{"cluster":"demo","group":"g1"}`:
 * the UI, the CLI, schedules), whose spec stored at setup is read through an activity
 * (non-retryable UnknownCluster when there is none), or a whole spec, which must be the stored
 * spec of an existing cluster: only setupCluster changes a cluster's spec.
 */
import { isMultiHost } from '../common/addressing';
import { ApplicationFailure } from '@temporalio/workflow';
import { ErrorTypes } from '../common/error-types';
import { describeDifferences, specDifferences } from '../common/spec-diff';
import type { ClusterSpec, PartialSpecInput } from '../common/spec';
import { validation } from './activity-proxies';

export interface ClusterRef {
  /** The whole spec (any field left out takes its default); must equal the stored one of an existing cluster. */
  spec?: PartialSpecInput;
  /** A cluster set up before: its stored spec is used. */
  cluster?: string;
}

const isUnknownCluster = (err: unknown) =>
  (err as { cause?: { type?: string } })?.cause?.type === ErrorTypes.UnknownCluster;

/** The spec stored with the cluster, or undefined when none is set up here. */
export async function storedSpecOf(cluster: string): Promise<ClusterSpec | undefined> {
  try {
    return await validation.loadClusterSpec({ cluster });
  } catch (err) {
    if (isUnknownCluster(err)) return undefined;
    throw err;
  }
}

/** Refuses (BadConfig, naming each field) a spec that differs from the stored spec of its cluster. */
export function refuseChangedSpec(given: ClusterSpec, stored: ClusterSpec, hint: string): void {
  const differences = specDifferences(given, stored);
  if (!differences.length) return;
  throw ApplicationFailure.create({
    message: `spec: differs from the stored spec of ${stored.name}: ${describeDifferences(differences)}. ${hint}`,
    type: ErrorTypes.BadConfig,
    nonRetryable: true,
    details: [{ differences }],
  });
}

/**
 * What a given spec may be: for every runbook after setup only the stored spec of its cluster
 * (returned as stored); for setupCluster also a new cluster's spec, or any spec when the input
 * declares the change (applySpecChange: `citusctl up` of an edited spec file), returned as given.
 */
export type SpecUse = 'stored' | 'setup';

const CHANGED_SPEC_HINT: Record<SpecUse, string> = {
  stored:
    'Give {"cluster": "<name>"} to use the stored spec; an edited spec is applied by `citusctl up` (setupCluster).',
  setup:
    'Give {"cluster": "<name>"} to rerun the setup with the stored spec, or apply an edited spec with ' +
    '`citusctl up` (it declares the change: "applySpecChange": true).',
};

/**
 * The input (checked against its schema first, checked-input.ts) resolved to a spec: the stored
 * one of `cluster`, or the given `spec` validated (defaults filled in) and compared with the stored
 * one. setupCluster with neither sets up the default spec.
 */
export async function specFor(
  input: ClusterRef & { applySpecChange?: boolean },
  use: SpecUse = 'stored',
  severalHosts: 'refuse' | 'supported' = 'refuse',
): Promise<ClusterSpec> {
  const spec = await resolvedSpec(input, use);
  if (use === 'stored' && severalHosts === 'refuse') refuseSeveralHosts(spec);
  return spec;
}

/**
 * The runbooks that work on several hosts so far: `up` (setupCluster), failover, switchover of a
 * worker group, and rejoin; their container steps run on each member's host queue
 * (host-routing.ts). Every other runbook acts on containers through the shared worker's engine,
 * which holds none of them, so it refuses before acting rather than miss them.
 */
export const SEVERAL_HOSTS_RUNBOOKS = '`citusctl up`, failover, switchover of a worker group and rejoin';

export function refuseSeveralHosts(spec: ClusterSpec, what?: string): void {
  if (!isMultiHost(spec)) return;
  throw ApplicationFailure.nonRetryable(
    `cluster ${spec.name} runs on several hosts (${(spec.hosts ?? []).map((h) => h.name).join(', ')}); ` +
      `${what ? `${what} does not work there yet; ` : ''}only ${SEVERAL_HOSTS_RUNBOOKS} work on several hosts ` +
      'so far: nothing was changed',
    ErrorTypes.Refused,
  );
}

async function resolvedSpec(input: ClusterRef & { applySpecChange?: boolean }, use: SpecUse): Promise<ClusterSpec> {
  if (input.spec === undefined) {
    if (input.cluster !== undefined) return validation.loadClusterSpec({ cluster: input.cluster });
    if (use === 'stored')
      throw ApplicationFailure.nonRetryable(
        'cluster: required: name the cluster ({"cluster": "demo", ...}) or give its whole spec ({"spec": {...}, ...})',
        ErrorTypes.BadConfig,
      );
  }
  const spec = await validation.validateSpec(input.spec ?? {});
  if (use === 'setup' && input.applySpecChange) return spec;
  const stored = await storedSpecOf(spec.name);
  if (!stored) return spec;
  refuseChangedSpec(spec, stored, CHANGED_SPEC_HINT[use]);
  return use === 'setup' ? spec : stored;
}
