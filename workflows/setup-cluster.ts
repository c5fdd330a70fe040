/**
 * setupCluster: the whole runbook, one activity per step, progress exposed by the `progress` query.
 * Thin on purpose: every step checks before it acts, so the workflow just runs them in order and a
 * rerun (or a retry after a crash) converges on the same end state.
 */
import { ApplicationFailure, patched, setHandler } from '@temporalio/workflow';
import type { ReplicationStatus, ShardSpread } from '../activities';
import { backupsEnabled } from '../common/backup-records';
import { ProgressTracker, type Progress } from '../common/progress';
import type { SetupClusterInput } from '../common/inputs';
import type { ClusterSpec, ImageRole } from '../common/spec';
import { mustRejoin } from '../common/standby-follow';
import { allPrimaries, groupsOf, standbyAssignments, type Primaries } from '../common/topology';
import { acts, longRunning } from './activity-proxies';
import { forContainer, hostsToVisit, onHost } from './host-routing';
import { pgbouncerHosts } from '../common/addressing';
import { checkedInput } from './checked-input';
import { specFor } from './cluster-input';
import { followedRebalance } from './followed-rebalance';
import { progressQuery } from './progress-query';
import { tagWorkflow } from './tag-workflow';

/**
 * `{"spec": {...}}` (every field left out takes its default, so `{"spec":{"name":"demo"}}` or `{}` is
 * a whole setup), or `{"cluster": "demo"}` to rerun a stored one; `clean`, `force`, `rebalance`, and
 * `applySpecChange` (the spec replaces the stored one). Schema in common/inputs.
 */
export type { SetupClusterInput };

export interface SetupClusterResult {
  cluster: string;
  /** The images the cluster runs. */
  images: Record<ImageRole, string>;
  primaries: Primaries;
  workersAdded: string[];
  demoRowsInserted: number;
  demoRowsThroughPgBouncer: number;
  shards: ShardSpread;
  replication: ReplicationStatus[];
  /** The rebalance onto new groups (scale-out), when one ran. */
  rebalance?: { jobs: number[]; movesDone: number; bytesMoved: number };
  /**
   * Every step's final state: the CLI's --json steps (a query after the end can miss its deadline
   * on a busy machine).
   */
  progress?: Progress;
}

export const SETUP_STEPS = [
  'validate',
  'images',
  'provision',
  'readiness',
  'clean-up',
  'registration',
  'distribution',
  'data-load',
  'shard-check',
  'standby-follow',
  'replication-check',
  'pgbouncer',
  'backup-stanzas',
  'publish',
  'rebalance-check',
  'rebalance',
  'moves',
] as const;

const describeImages = (r: { images: Record<string, string>; sources: Record<string, string | undefined> }) =>
  Object.entries(r.images)
    .map(([role, image]) => `${role} ${image} (${r.sources[role] ?? '?'})`)
    .join(', ');

export async function setupCluster(started: SetupClusterInput): Promise<SetupClusterResult> {
  const progress = new ProgressTracker('setupCluster', SETUP_STEPS, () => Date.now());
  setHandler(progressQuery, () => progress.snapshot());

  const { input, spec: validated } = await progress.run(
    'validate',
    async () => {
      const i = checkedInput('setupCluster', started);
      // An existing cluster keeps its stored spec unless the input declares a change (an edited spec file).
      const s = await specFor(i, 'setup');
      await tagWorkflow(s.name);
      // Before anything is created: a group left out of the spec must have been drained.
      await acts.refuseDroppedGroups({ spec: s });
      return { input: i, spec: s };
    },
    ({ spec: s }) => `cluster ${s.name}: ${s.members.length} members, ${s.workers.length} worker groups`,
  );
  // Several hosts: the container steps run host by host, each on its host's queue (host-routing.ts).
  const hosts = hostsToVisit(validated);
  // Present, else pulled, else the offline stand-in, else a clear error: whoever started the setup.
  const { images } = await progress.run(
    'images',
    () => (hosts.length ? sameImagesOnEvery(hosts, validated) : longRunning.resolveImages(validated)),
    describeImages,
  );
  const spec: ClusterSpec = { ...validated, images };
  await progress.run(
    'provision',
    async () => {
      const r = hosts.length ? await provisionHostByHost(hosts, spec) : await acts.provisionCluster(spec);
      // Stored once etcd runs, so later workflows can be started with only the cluster's name.
      await acts.storeClusterSpec(spec);
      return r;
    },
    (r) => (r.created.length ? `created ${r.created.join(', ')}` : 'everything present'),
  );
  const primaries = await progress.run(
    'readiness',
    async () => {
      const p = await acts.readLivePrimaries(spec);
      if (hosts.length)
        await Promise.all(
          hosts.map((host) => onHost(host).acts.waitForNodes({ spec, primaries: allPrimaries(p), host })),
        );
      else await acts.waitForNodes({ spec, primaries: allPrimaries(p) });
      return p;
    },
    (p) => `primaries ${allPrimaries(p).join(', ')}`,
  );

  if (input.clean && !input.restored) {
    await progress.run(
      'clean-up',
      () => acts.cleanUp({ spec, primaries, force: input.force ?? false }),
      (r) => (r.dropped ? `dropped ${spec.demo.table}` : 'nothing to drop'),
    );
  } else {
    progress.skip('clean-up', input.restored ? 'restored from a backup' : 'not requested');
  }

  const registration = await progress.run(
    'registration',
    async () => {
      await Promise.all(allPrimaries(primaries).map((member) => acts.prepareNode({ spec, member })));
      return acts.registerNodes({ spec, primaries });
    },
    (r) => (r.added.length ? `added ${r.added.join(', ')}` : 'all workers registered'),
  );
  const pairs = invariant(() => standbyAssignments(spec, primaries));
  const dataSteps = async () => {
    if (input.restored) {
      for (const step of ['distribution', 'data-load'] as const) progress.skip(step, 'restored from a backup');
      const shards = await progress.run(
        'shard-check',
        () => acts.checkShards({ spec, primaries, allowEmpty: true }),
        (r) => `${Object.values(r.perWorker).reduce((n, v) => n + v.placements, 0)} placements (restored)`,
      );
      return { load: { inserted: 0, total: 0 }, shards };
    }
    await progress.run(
      'distribution',
      () => acts.distributeDemoTable({ spec, primaries }),
      (r) => (r.distributed ? `distributed ${spec.demo.table}` : 'already distributed'),
    );
    const load = await progress.run(
      'data-load',
      () => longRunning.loadDemoData({ spec, primaries }),
      (r) => `${r.inserted} inserted, ${r.total} rows`,
    );
    // A group added to the spec gets its shards from the rebalance at the end.
    const shards = await progress.run(
      'shard-check',
      () => acts.checkShards({ spec, primaries, allowEmpty: true }),
      (r) =>
        Object.entries(r.perWorker)
          .map(([w, v]) => `${w}: ${v.placements}`)
          .join(', '),
    );
    return { load, shards };
  };
  const standbySteps = async () => {
    const follow = async (p: (typeof pairs)[number]) => {
      const on = forContainer(spec, p.standby).longRunning;
      const r = await on.followPrimary({ spec, ...p });
      if (mustRejoin(r)) await on.rejoinMember({ spec, member: p.standby, primary: p.primary });
      return r;
    };
    await progress.run(
      'standby-follow',
      () => Promise.all(pairs.map(follow)),
      (r) => `${r.filter((x) => x.seeded).length} seeded, ${r.length} standbys`,
    );
    return progress.run(
      'replication-check',
      async () => {
        const statuses = await Promise.all(pairs.map((p) => acts.checkReplication({ spec, ...p })));
        // Synchronous commit only once the standbys stream, or the primary would block writes.
        await Promise.all(
          groupsOf(spec).map((g) => {
            const primary = g.isCoordinator
              ? primaries.coordinator
              : invariant(() => primaries.workers[g.group] ?? fail(`no primary for ${g.group}`));
            return acts.configureDurability({
              spec,
              primary,
              standbys: pairs.filter((p) => p.group === g.group).map((p) => p.standby),
            });
          }),
        );
        return statuses;
      },
      (r) => `${r.filter((s) => s.state === 'streaming').length}/${r.length} streaming (${spec.durability})`,
    );
  };
  const pgbouncerStep = () =>
    progress.run(
      'pgbouncer',
      async () => {
        if (!hosts.length) return acts.initPgBouncer({ spec, coordinator: primaries.coordinator });
        // One PgBouncer on each of its hosts, each configured on its own engine.
        const all = await Promise.all(
          pgbouncerHosts(spec).map(({ name: host }) =>
            onHost(host).acts.initPgBouncer({ spec, coordinator: primaries.coordinator, host }),
          ),
        );
        return all[0]!;
      },
      (r) => `${r.demoRows} demo rows through port ${spec.pgbouncer.port}`,
    );

  // The standbys are seeded while the demo table is distributed and loaded (the runbook needs only
  // their primaries prepared), and PgBouncer starts once the data is in; publish waits for both.
  const [[data, bouncer], replication]: [
    readonly [Awaited<ReturnType<typeof dataSteps>>, Awaited<ReturnType<typeof pgbouncerStep>>],
    ReplicationStatus[],
  ] = await bothSettled(
    dataSteps().then(async (d) => [d, await pgbouncerStep()] as const),
    standbySteps(),
  );
  const { load } = data;
  let { shards } = data;
  // After the standbys stream: a member seeded from its primary then archives into the same stanza.
  // Guarded: a setup recorded before this step replays without it.
  if (!backupsEnabled(validated) || !patched('backup-stanzas')) {
    progress.skip('backup-stanzas', backupsEnabled(validated) ? 'recorded before backups' : 'backups disabled');
  } else {
    await progress.run(
      'backup-stanzas',
      () => acts.ensureBackupStanzas({ spec, primaries }),
      (r) => r.map((s) => `${s.stanza} ${s.action}`).join(', '),
    );
  }
  await progress.run(
    'publish',
    () => acts.publishToEtcd({ spec, primaries }),
    (r) => (r.written.length ? `wrote ${r.written.length} keys` : 'etcd up to date'),
  );

  // Scale-out: once the new group is published and its standbys stream, it takes its share.
  const empty = Object.entries(shards.perWorker)
    .filter(([, v]) => v.placements === 0)
    .map(([w]) => w);
  let rebalance: SetupClusterResult['rebalance'];
  if (!empty.length || input.rebalance === false) {
    const why = !empty.length
      ? 'every worker holds shards'
      : `not requested (${empty.join(', ')} hold no shards: citusctl rebalance)`;
    for (const step of ['rebalance-check', 'rebalance', 'moves'] as const) progress.skip(step, why);
  } else {
    await progress.run(
      'rebalance-check',
      () => acts.checkRebalanceReady({ spec }),
      () => `${empty.join(', ')} hold no shards`,
    );
    const r = await followedRebalance(progress, { start: 'rebalance', moves: 'moves' }, { spec });
    rebalance = { jobs: r.jobs, movesDone: r.final?.movesDone ?? 0, bytesMoved: r.final?.bytesMoved ?? 0 };
    shards = await acts.checkShards({ spec, primaries, allowEmpty: spec.demo.shardCount < spec.workers.length });
  }

  return {
    cluster: spec.name,
    images,
    primaries,
    workersAdded: registration.added,
    demoRowsInserted: load.inserted,
    demoRowsThroughPgBouncer: bouncer.demoRows,
    shards,
    replication,
    ...(rebalance ? { rebalance } : {}),
    progress: progress.snapshot(),
  };
}

/** Every host's images, resolved on its own engine: the same references on every host, or a clear error. */
async function sameImagesOnEvery(hosts: string[], spec: ClusterSpec) {
  const found = await Promise.all(hosts.map((host) => onHost(host).longRunning.resolveImages(spec)));
  const first = found[0]!;
  found.forEach((r, i) => {
    const differ = Object.entries(r.images).filter(([role, image]) => first.images[role as ImageRole] !== image);
    if (differ.length)
      throw ApplicationFailure.nonRetryable(
        `hosts ${hosts[0]} and ${hosts[i]} resolve different images ` +
          `(${differ.map(([role, image]) => `${role}: ${first.images[role as ImageRole]} vs ${image}`).join(', ')}): ` +
          'give the same images on every host (spec `images`, or CITUSCTL_IMAGE_*)',
        'BadConfig',
      );
  });
  return first;
}

/**
 * Every host at once, each on its own engine: the cluster's secrets and certificates exist already
 * (validation made them), and a multi-member etcd serves only once a quorum of its hosts started it.
 */
async function provisionHostByHost(hosts: string[], spec: ClusterSpec) {
  const results = await Promise.all(hosts.map((host) => onHost(host).acts.provisionCluster(spec, { host })));
  return { ...results[0]!, created: results.flatMap((r) => r.created) };
}

/**
 * Both chains run to their end even when one fails, so no activity of the other is left in flight
 * when the workflow fails; then the first failure is thrown.
 */
async function bothSettled<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

function fail(message: string): never {
  throw new Error(message);
}

/**
 * A plain Error thrown in workflow code fails only the workflow task, which Temporal retries
 * forever (it assumes a bug to be fixed by a deploy). A broken invariant of the data instead
 * fails the workflow, visibly.
 */
function invariant<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw ApplicationFailure.nonRetryable(err instanceof Error ? err.message : String(err), 'InvariantViolated');
  }
}
