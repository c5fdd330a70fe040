/**
 * Rejoin: rebuild a former primary (or a standby following the wrong node) as a standby of the
 * group's current primary. The container's bootstrap does the work (pg_rewind, else a fresh base
 * backup) when its member state says rejoining; this activity sets that state and starts it.
 */
import type { ClusterSpec } from '../../common/spec';
import { containerName, networkName, slotName } from '../../common/topology';
import { checkpointForRewind, streamingSource } from '../../lib/postgres';
import { asSuperuser } from '../members/superuser';
import type { ActivityDeps } from '../deps';
import { containerLogs, containerState, ensureNetwork, tarOf } from '../../lib/docker/docker-helpers';
import { fatal, notReady } from '../../lib/errors';
import { pollUntil, withHeartbeat } from '../heartbeat';
import { setMemberState } from '../members/state';
import { memberContainerFiles } from '../members/member-tls';
import { ensureSlot } from './slots';

export type RejoinAction = 'already-following' | 'in-progress' | 'rewound' | 're-seeded';

export function createRejoinActivities(deps: ActivityDeps) {
  /** The bootstrap wrote standby into the volume; etcd learns it here. */
  const recordStandby = (spec: ClusterSpec, member: string, primary: string) =>
    setMemberState(deps, {
      spec,
      member,
      state: {
        state: 'standby',
        at: new Date().toISOString(),
        reason: `streaming from ${primary}`,
        primary,
        slot: slotName(member),
      },
    });
  async function followsPrimary(spec: ClusterSpec, member: string, primary: string): Promise<boolean> {
    try {
      const r = await asSuperuser(deps, spec, member, streamingSource);
      return r.inRecovery && r.senderHost === primary;
    } catch {
      return false;
    }
  }

  /**
   * Records the member as rejoining (volume first: its bootstrap rewinds, or re-seeds with fresh)
   * and starts it; a container waiting in the fenced state picks the change up by itself.
   */
  async function startRejoining(
    spec: ClusterSpec,
    member: string,
    primary: string,
    mode: 'rewind' | 'fresh',
  ): Promise<number> {
    const container = deps.docker.getContainer(containerName(spec.name, member));
    const secrets = await deps.secrets.ensure(spec.name);
    // A just-promoted primary's control file can point far back: a checkpoint first (see lib/postgres/rewind.ts).
    await asSuperuser(deps, spec, primary, checkpointForRewind);
    const subnet = await ensureNetwork(deps.docker, networkName(spec.name), spec.name);
    await container.putArchive(await tarOf(await memberContainerFiles(deps, spec, member, secrets, subnet)), {
      path: '/',
    });
    const startedAt = Math.floor(Date.now() / 1000);
    await setMemberState(deps, {
      spec,
      member,
      state: {
        state: 'rejoining',
        at: new Date().toISOString(),
        reason: `rebuild as a standby of ${primary}`,
        primary,
        slot: slotName(member),
        mode,
      },
    });
    await container.start().catch((e: { statusCode?: number }) => {
      if (e.statusCode !== 304) throw e;
    });
    return startedAt;
  }

  /**
   * Waits until the member streams from the primary. A rewound member whose start point the new
   * primary no longer has in pg_wal can never stream: then it is re-seeded from a fresh base backup.
   */
  async function awaitFollowing(
    spec: ClusterSpec,
    member: string,
    primary: string,
    since: number,
  ): Promise<'following' | 'wal-gone'> {
    const name = containerName(spec.name, member);
    const outcome = await pollUntil(
      async () => {
        if (await followsPrimary(spec, member, primary)) return 'following' as const;
        const logs = await containerLogs(deps.docker, name, 200, since);
        const walGone = [
          /requested WAL segment \S+ has already been removed/,
          /requested timeline \d+ is not in this server's history/,
        ];
        if (walGone.some((re) => re.test(logs))) return 'wal-gone' as const;
        // The bootstrap gave up (it could not reach the primary: a member still cut off from the
        // network): nothing restarts it, so waiting out the timeout helps nobody; the retry starts it again.
        if ((await containerState(deps.docker, name)) === 'exited')
          return { exited: logs.trim().split('\n').pop() ?? '' };
        return undefined;
      },
      120_000,
      500,
    );
    if (typeof outcome === 'object')
      throw notReady(`${member} stopped while rebuilding from ${primary}: ${outcome.exited}`);
    return outcome;
  }

  async function rejoinMember(input: {
    spec: ClusterSpec;
    member: string;
    primary: string;
  }): Promise<{ action: RejoinAction }> {
    const { spec, member, primary } = input;
    if (member === primary) throw fatal('BadConfig', `${member} is the group's primary; nothing to rejoin`);
    const name = containerName(spec.name, member);
    return withHeartbeat(async () => {
      const state = await containerState(deps.docker, name);
      if (state === 'absent')
        throw fatal('Invariant', `container ${name} does not exist; run citusctl up to recreate it`);
      await ensureSlot(deps, spec, primary, slotName(member));
      const container = deps.docker.getContainer(name);
      if (state === 'running') {
        if (await followsPrimary(spec, member, primary)) {
          await recordStandby(spec, member, primary);
          return { action: 'already-following' };
        }
        // Running as a primary, following another node, or mid-rebuild from an earlier attempt
        // (crashed worker): stop it and rebuild from the start (both rebuild paths are redoable).
        await container.stop({ t: 10 }).catch((e: { statusCode?: number }) => {
          if (e.statusCode !== 304) throw e;
        });
      }
      const since = await startRejoining(spec, member, primary, 'rewind');
      if ((await awaitFollowing(spec, member, primary, since)) === 'following') {
        await recordStandby(spec, member, primary);
        return { action: 'rewound' };
      }
      await container.stop({ t: 10 }).catch((e: { statusCode?: number }) => {
        if (e.statusCode !== 304) throw e;
      });
      const again = await startRejoining(spec, member, primary, 'fresh');
      if ((await awaitFollowing(spec, member, primary, again)) !== 'following')
        throw notReady(`${member} does not stream from ${primary} after a fresh base backup`);
      await recordStandby(spec, member, primary);
      return { action: 're-seeded' };
    });
  }

  return { rejoinMember };
}
