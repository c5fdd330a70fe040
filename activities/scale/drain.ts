/**
 * The drain runbook's activities: the checks that could refuse a drain (last group, disk), marking
 * the group so Citus places nothing on it, verifying it is empty, and removing it for good (Citus
 * metadata, its standbys' slots, its containers, its etcd keys). Each checks before it acts, so a
 * rerun after a crash finishes what the first run began.
 */
import { peerPort } from '../../common/addressing';
import type { Client } from 'pg';
import type { ClusterSpec } from '../../common/spec';
import { drainRefusal, type DrainTarget } from '../../common/drain-decisions';
import { containerName, slotName, volumeName, type Primaries } from '../../common/topology';
import { dropSlot } from '../../lib/postgres';
import {
  cleanupOrphansOf,
  removeNode,
  setShouldHaveShards,
  shardTablesOnNode,
  tablesBytes,
  workerNodes,
} from '../../lib/postgres/rebalance';
import type { ActivityDeps } from '../deps';
import { assertOwnedIfPresent, containerState, execIn } from '../../lib/docker/docker-helpers';
import { fatal, notReady } from '../../lib/errors';
import { withHeartbeat } from '../heartbeat';
import { PG_VOLUME_TARGET } from '../../lib/docker/node-containers';
import { onMember } from '../members/superuser';
import { storeOf } from '../store';

export interface DrainInput {
  spec: ClusterSpec;
  primaries: Primaries;
  group: string;
}

export interface DrainCheck {
  /** The group's primary is no longer a Citus node: an earlier run removed it; only the clean-up is left. */
  removed: boolean;
  placements: number;
  bytesToMove: number;
}

export function createDrainActivities(deps: ActivityDeps) {
  const on = <T>(spec: ClusterSpec, member: string, what: string, fn: (c: Client) => Promise<T>) =>
    onMember(deps, spec, member, what, fn);
  const primaryOf = (input: DrainInput) => {
    const p = input.primaries.workers[input.group];
    if (!p)
      throw fatal(
        'BadConfig',
        `${input.group} is not a worker group of ${input.spec.name} (worker groups: ` +
          `${Object.keys(input.primaries.workers).join(', ')})`,
      );
    return p;
  };

  /** Free bytes and file system id of a member's data volume (`stat -f` inside its container). */
  async function freeSpace(spec: ClusterSpec, group: string, member: string): Promise<DrainTarget> {
    const r = await execIn(deps.docker, containerName(spec.name, member), [
      'stat',
      '-f',
      '-c',
      '%a %S %i',
      PG_VOLUME_TARGET,
    ]);
    const [avail, size, fsid] = r.stdout.trim().split(/\s+/);
    if (r.exitCode !== 0 || !avail || !size || !fsid)
      throw fatal('Invariant', `reading the free space of ${member}: ${r.stderr.trim() || r.stdout.trim()}`);
    return { group, freeBytes: Number(avail) * Number(size), fileSystem: fsid };
  }

  /** Refuses (non-retryable, nothing changed) the last worker group, or one whose data the others could not hold. */
  /**
   * The group's containers (and volumes, when they are to go) carry this cluster's labels: drain
   * stops and removes them by name, and a name can belong to another cluster (`demo` + `g3-a` and
   * `demo-g3` + `a`). Conflict, nothing changed, otherwise.
   */
  async function assertGroupOwned(spec: ClusterSpec, group: string, volumes: boolean): Promise<void> {
    for (const m of spec.members.filter((x) => x.group === group)) {
      await assertOwnedIfPresent(deps.docker, 'container', containerName(spec.name, m.name), spec.name, m.name);
      if (volumes) await assertOwnedIfPresent(deps.docker, 'volume', volumeName(spec.name, m.name), spec.name, m.name);
    }
  }

  async function checkDrain(input: DrainInput & { volumes?: boolean }): Promise<DrainCheck> {
    const { spec, group } = input;
    const host = primaryOf(input);
    return withHeartbeat(async () => {
      await assertGroupOwned(spec, group, input.volumes ?? false);
      const nodes = await on(spec, input.primaries.coordinator, 'reading the worker nodes', workerNodes);
      const groupOfHost = (h: string) => Object.entries(input.primaries.workers).find(([, p]) => p === h)?.[0] ?? h;
      const self = nodes.find((n) => n.host === host && n.port === peerPort(spec, host));
      if (!self) return { removed: true, placements: 0, bytesToMove: 0 };
      const tables = await on(spec, input.primaries.coordinator, "listing the group's shards", (c) =>
        shardTablesOnNode(c, host, peerPort(spec, host)),
      );
      const bytesToMove = tables.length
        ? await on(spec, host, "measuring the group's shards", (c) => tablesBytes(c, tables))
        : 0;
      const others = nodes.filter((n) => n !== self && n.shouldHaveShards);
      const targets: DrainTarget[] = [];
      for (const n of others) {
        const g = groupOfHost(n.host);
        if (input.primaries.workers[g] === n.host) targets.push(await freeSpace(spec, g, n.host));
      }
      const refusal = drainRefusal({
        group,
        workerGroups: nodes.map((n) => ({
          group: groupOfHost(n.host),
          shouldHaveShards: n.shouldHaveShards,
          placements: n.placements,
        })),
        bytesToMove,
        targets,
      });
      if (refusal) throw fatal('Refused', `drain of ${group} refused, nothing was changed: ${refusal}`);
      return { removed: false, placements: self.placements, bytesToMove };
    });
  }

  /** shouldhaveshards = false: the rebalancer then moves everything away and places nothing new. */
  async function markDraining(input: DrainInput): Promise<{ changed: boolean }> {
    const host = primaryOf(input);
    return withHeartbeat(async () => ({
      changed: await on(input.spec, input.primaries.coordinator, 'marking the group as draining', (c) =>
        setShouldHaveShards(c, host, peerPort(input.spec, host), false),
      ),
    }));
  }

  /**
   * No placement is left on the group (non-retryable otherwise, naming the count), and no source
   * copy waits for Citus's deferred drop (retryable until the clean-up is through).
   */
  async function verifyDrained(input: DrainInput): Promise<{ placements: number }> {
    const host = primaryOf(input);
    return withHeartbeat(async () => {
      const nodes = await on(input.spec, input.primaries.coordinator, 'counting placements', workerNodes);
      const placements = nodes.find((n) => n.host === host && n.port === peerPort(input.spec, host))?.placements ?? 0;
      if (placements)
        throw fatal(
          'Invariant',
          `${input.group} still holds ${placements} shard placements after the drain: nothing was removed; ` +
            'rerun the drain',
        );
      const pending = await on(input.spec, input.primaries.coordinator, 'cleaning up moved shards', (c) =>
        cleanupOrphansOf(c, host, peerPort(input.spec, host)),
      );
      if (pending) throw notReady(`${pending} moved shards of ${input.group} still wait for Citus's deferred drop`);
      return { placements };
    });
  }

  /** citus_remove_node for the group's primary (Citus refuses while it holds a placement). */
  async function removeWorkerNode(input: DrainInput): Promise<{ removed: boolean }> {
    const host = primaryOf(input);
    return withHeartbeat(async () => ({
      removed: await on(input.spec, input.primaries.coordinator, 'removing the node from Citus', (c) =>
        removeNode(c, host, peerPort(input.spec, host)),
      ),
    }));
  }

  /**
   * Stops the group's standbys, drops their slots on the primary, then stops and removes every
   * container of the group. Volumes only when asked (the data is kept otherwise).
   */
  async function removeGroupContainers(
    input: DrainInput & { volumes: boolean },
  ): Promise<{ removedContainers: string[]; removedVolumes: string[]; droppedSlots: string[] }> {
    const { spec, group } = input;
    const host = primaryOf(input);
    const members = spec.members.filter((m) => m.group === group);
    const standbys = members.filter((m) => m.name !== host);
    return withHeartbeat(async () => {
      // Checked again right before the first stop: a container may have been re-created since the check step.
      await assertGroupOwned(spec, group, input.volumes);
      const stop = async (member: string) => {
        const name = containerName(spec.name, member);
        if ((await containerState(deps.docker, name)) === 'running')
          await deps.docker.getContainer(name).stop({ t: 10 });
      };
      for (const s of standbys) await stop(s.name);
      const droppedSlots: string[] = [];
      if ((await containerState(deps.docker, containerName(spec.name, host))) === 'running') {
        for (const s of standbys)
          if (await on(spec, host, 'dropping a standby slot', (c) => dropSlot(c, slotName(s.name))))
            droppedSlots.push(slotName(s.name));
      }
      await stop(host);
      const removedContainers: string[] = [];
      const removedVolumes: string[] = [];
      for (const m of members) {
        const name = containerName(spec.name, m.name);
        if ((await containerState(deps.docker, name)) !== 'absent') {
          await deps.docker.getContainer(name).remove({ force: true });
          removedContainers.push(name);
        }
        if (input.volumes) {
          const volume = deps.docker.getVolume(volumeName(spec.name, m.name));
          const exists = await volume.inspect().then(
            () => true,
            () => false,
          );
          if (exists) {
            await volume.remove();
            removedVolumes.push(volumeName(spec.name, m.name));
          }
        }
      }
      return { removedContainers, removedVolumes, droppedSlots };
    });
  }

  /** Deletes the group's etcd keys (primary, durability, events, lock) and its members' states. */
  async function forgetGroup(input: { spec: ClusterSpec; group: string }): Promise<{ deletedKeys: number }> {
    const members = input.spec.members.filter((m) => m.group === input.group).map((m) => m.name);
    return withHeartbeat(async () => ({
      deletedKeys: await storeOf(deps, input.spec).forgetGroup(input.group, members),
    }));
  }

  return { checkDrain, markDraining, verifyDrained, removeWorkerNode, removeGroupContainers, forgetGroup };
}
