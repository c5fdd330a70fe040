/** Workflow-side helpers shared by failover, switchover, rejoin and unfence. */
import { ApplicationFailure } from '@temporalio/workflow';
import { ErrorTypes } from '../common/error-types';
import type { ClusterSpec } from '../common/spec';
import { COORDINATOR_GROUP, type Primaries } from '../common/topology';
import { hostOfContainer, isMultiHost, pgbouncerHosts } from '../common/addressing';
import { acts, critical, longRunning } from './activity-proxies';
import { forContainer, neverStarted, onHost } from './host-routing';

/** The group's live primary and the other members; with no primaries given, only checks the group exists. */
export function groupMembers(
  spec: ClusterSpec,
  primaries: Primaries | undefined,
  group: string,
): { oldPrimary: string; standbys: string[] } {
  const members = spec.members.filter((m) => m.group === group).map((m) => m.name);
  if (!members.length)
    throw ApplicationFailure.nonRetryable(
      `unknown group ${group} (groups: ${COORDINATOR_GROUP}, ${spec.workers.join(', ')})`,
      ErrorTypes.BadConfig,
    );
  if (!primaries) return { oldPrimary: members[0]!, standbys: members.slice(1) };
  const oldPrimary = group === COORDINATOR_GROUP ? primaries.coordinator : primaries.workers[group];
  if (!oldPrimary) throw ApplicationFailure.nonRetryable(`no primary known for group ${group}`, ErrorTypes.BadConfig);
  return { oldPrimary, standbys: members.filter((m) => m !== oldPrimary) };
}

/**
 * Makes every other member of the group a streaming standby of the new primary (those whose
 * container is gone are reported, not fatal), then restores the durability setting with the
 * standbys that stream.
 */
export interface RejoinReport {
  streaming: string[];
  failed: string[];
}

export async function rejoinOthers(spec: ClusterSpec, newPrimary: string, members: string[]): Promise<RejoinReport> {
  const others = [...new Set(members)].filter((m) => m !== newPrimary);
  const streaming: string[] = [];
  const failed: string[] = [];
  await Promise.all(
    others.map(async (member) => {
      try {
        // On the member's host (a host that does not answer fails it here, in a few seconds).
        await forContainer(spec, member).longRunning.rejoinMember({ spec, member, primary: newPrimary });
        await longRunning.checkReplication({ spec, standby: member, primary: newPrimary, timeoutMs: 120_000 });
        streaming.push(member);
      } catch (err) {
        // Reported in the result: the failover itself succeeded.
        const why = neverStarted(err)
          ? `host ${hostOfContainer(spec, member).name} does not answer`
          : err instanceof Error
            ? err.cause instanceof Error
              ? err.cause.message
              : err.message
            : String(err);
        failed.push(`${member}: ${why}`);
      }
    }),
  );
  const group = spec.members.find((m) => m.name === newPrimary)?.group;
  const groupStandbys = spec.members.filter((m) => m.group === group && m.name !== newPrimary).map((m) => m.name);
  await acts.configureDurability({ spec, primary: newPrimary, standbys: groupStandbys });
  return { streaming: streaming.sort(), failed: failed.sort() };
}

export const describeRejoin = (r: RejoinReport) =>
  [
    r.streaming.length ? `streaming: ${r.streaming.join(', ')}` : 'none streaming',
    ...(r.failed.length ? [`not rejoined: ${r.failed.join('; ')}`] : []),
  ].join('; ');

/**
 * The coordinator group's new primary becomes the coordinator: its own metadata names it, and
 * PgBouncer sends clients to it. Both check before they act, so this converges after a crash too.
 * Several hosts: every PgBouncer whose host answers, each on its host's queue; returns the hosts
 * that did not answer (their PgBouncer still names the old coordinator: `citusctl up` re-points it).
 * None answering fails the step (clients would have no way in).
 */
export async function repointCoordinator(spec: ClusterSpec, newCoordinator: string): Promise<string[]> {
  await critical.pointCoordinatorAt({ spec, newCoordinator });
  if (!isMultiHost(spec)) {
    await critical.initPgBouncer({ spec, coordinator: newCoordinator });
    return [];
  }
  const hosts = pgbouncerHosts(spec).map((h) => h.name);
  const results = await Promise.allSettled(
    hosts.map((host) => onHost(host).critical.initPgBouncer({ spec, coordinator: newCoordinator, host })),
  );
  const silent: string[] = [];
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') return;
    if (!neverStarted(r.reason)) throw r.reason;
    silent.push(hosts[i]!);
  });
  if (silent.length === hosts.length)
    throw ApplicationFailure.nonRetryable(
      `no PgBouncer host answers (${silent.join(', ')}): none points at ${newCoordinator} yet`,
      ErrorTypes.NotReady,
    );
  return silent;
}

/** The PgBouncer hosts a re-point skipped, for a progress line. */
export const describeSilent = (hosts: string[]) =>
  hosts.length ? ` (not on ${hosts.join(', ')}: no answer; \`citusctl up\` re-points it there)` : '';
