/**
 * The one set of mocked activities for the workflow tests: they answer like a small healthy cluster
 * would (setup on a fresh cluster; a promoted standby stays promoted; positions come from a table),
 * with the product's formats (slot names, `ANY 1 (...)` durability, etcd keys), and record every
 * call with its attempt. Override any of them; overrides are recorded too.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../activities';
import { primaryKey, topologyKey } from '../../common/etcd-keys';
import type { StandbyPosition } from '../../common/failover-decisions';
import { parseSpec, SpecError, type ClusterSpec } from '../../common/spec';
import { groupsOf, slotName, type Primaries } from '../../common/topology';
import { anyOneOf } from '../../lib/postgres';
import { resolveImages } from '../../common/images';
import type { RebalanceSnapshot } from '../../common/rebalance';

/** Every activity setupCluster, failoverGroup, switchoverGroup and rejoinMemberWorkflow call. */
export const MOCKED_ACTIVITY_NAMES = [
  'validateSpec',
  'provisionCluster',
  'readLivePrimaries',
  'waitForNodes',
  'prepareNode',
  'cleanUp',
  'registerNodes',
  'distributeDemoTable',
  'loadDemoData',
  'checkShards',
  'followPrimary',
  'checkReplication',
  'configureDurability',
  'initPgBouncer',
  'publishToEtcd',
  'acquireGroupLock',
  'renewGroupLock',
  'releaseGroupLock',
  'probeMember',
  'fenceMember',
  'standbyPositions',
  'promoteStandby',
  'pointCitusAt',
  'waitMetadataSynced',
  'resolveInDoubtTransactions',
  'unfencePrimary',
  'pointCoordinatorAt',
  'recordPrimaryChange',
  'rejoinMember',
  'switchoverCriticalSection',
  'resolveImages',
  'storeClusterSpec',
  'loadClusterSpec',
  'searchAttributesRegistered',
  'refuseDroppedGroups',
  'checkRebalanceReady',
  'startRebalance',
  'followRebalance',
  'stopRebalance',
  'checkDrain',
  'markDraining',
  'verifyDrained',
  'removeWorkerNode',
  'removeGroupContainers',
  'forgetGroup',
  'ensureBackupStanzas',
  'closeArchiveGap',
  'observeHostReach',
  'shortWait',
  'recordMemberStateInEtcd',
] as const satisfies ReadonlyArray<keyof Activities>;
export type MockedActivityName = (typeof MOCKED_ACTIVITY_NAMES)[number];
export type MockedActivities = Pick<Activities, MockedActivityName>;

export interface ActivityCall {
  name: MockedActivityName;
  input: unknown;
  attempt: number;
}

/** The cluster the default mocks pretend to be. */
export interface Scenario {
  /** What etcd says (default: the first member of every group of the spec, as the spec says at setup). */
  primaries?: Primaries;
  /** Results of the probes of the old primary (default: three failures). */
  probes?: boolean[];
  /** Per-member overrides of standbyPositions (default: reachable, in recovery, replay 0/1000000). */
  positions?: Record<string, Partial<StandbyPosition>>;
  /** Members already out of recovery (a previous attempt promoted them). */
  promoted?: string[];
  /** Per member: the transactions PREPAREd on it when it is promoted (default none). */
  inDoubt?: Record<string, string[]>;
  /** Specs stored at setup, by cluster name, for loadClusterSpec (default: none: UnknownCluster). */
  stored?: Record<string, unknown>;
  /** What searchAttributesRegistered answers (default false: the test server has no CitusCluster). */
  searchAttributes?: boolean;
  /**
   * The rebalance jobs Citus would run, in order: each a list of
   * snapshots followRebalance returns (default: one job of 2 moves).
   */
  rebalanceJobs?: Array<Array<Pick<RebalanceSnapshot, 'state'> & Partial<RebalanceSnapshot>>>;
}

type Mocked = {
  [K in MockedActivityName]: jest.Mock<ReturnType<MockedActivities[K]>, Parameters<MockedActivities[K]>>;
};

/** Each group's first member: the primary of a fresh cluster. */
function specPrimaries(spec: ClusterSpec): Primaries {
  const [coord, ...workers] = groupsOf(spec);
  return {
    coordinator: coord!.primary.name,
    workers: Object.fromEntries(workers.map((g) => [g.group, g.primary.name])),
  };
}

export function mockActivities(overrides: Partial<MockedActivities> = {}, scenario: Scenario = {}) {
  const calls: ActivityCall[] = [];
  /** Workflow ids that asked searchAttributesRegistered. */
  const lookups: string[] = [];
  const promoted = new Set(scenario.promoted ?? []);
  const probes = scenario.probes ?? [false, false, false];
  const jobs = scenario.rebalanceJobs ?? [
    [
      { state: 'running', movesDone: 1 },
      { state: 'finished', movesDone: 2 },
    ],
  ];
  const rebalance: { started: number; running?: number; seen: number } = { started: 0, seen: 0 };
  const defaults: MockedActivities = {
    async validateSpec(input: unknown) {
      try {
        return parseSpec(input);
      } catch (err) {
        if (err instanceof SpecError)
          throw ApplicationFailure.create({ type: 'BadConfig', message: err.message, nonRetryable: true });
        throw err;
      }
    },
    async provisionCluster(spec) {
      return { network: `citusctl-${spec.name}`, subnet: '172.30.0.0/24', created: spec.members.map((m) => m.name) };
    },
    async readLivePrimaries(spec) {
      return structuredClone(scenario.primaries ?? specPrimaries(spec));
    },
    async waitForNodes() {},
    async prepareNode() {},
    async cleanUp() {
      return { dropped: true, otherTables: [] };
    },
    async registerNodes({ primaries }) {
      const added = Object.values(primaries.workers);
      return { added, nodeIds: Object.fromEntries(added.map((w, i) => [w, i + 2])) };
    },
    async distributeDemoTable() {
      return { distributed: true };
    },
    async loadDemoData({ spec }) {
      return { inserted: spec.demo.rows, total: spec.demo.rows };
    },
    async checkShards({ spec, primaries }) {
      const workers = Object.values(primaries.workers);
      const each = spec.demo.shardCount / workers.length;
      return {
        perWorker: Object.fromEntries(workers.map((w) => [w, { placements: each, tablesPresent: each }])),
        shardCount: spec.demo.shardCount,
      };
    },
    async followPrimary({ standby }) {
      return { seeded: true, slot: slotName(standby) };
    },
    async checkReplication({ standby, primary }) {
      return { standby, primary, slot: slotName(standby), state: 'streaming', lagBytes: 0, synchronous: true };
    },
    async configureDurability({ spec, standbys }) {
      // As the product: every named standby streams here, so all of them are named.
      return { synchronousStandbyNames: spec.durability === 'synchronous' ? anyOneOf(standbys) : '' };
    },
    async initPgBouncer({ spec }) {
      return { changed: true, demoRows: spec.demo.rows };
    },
    async publishToEtcd({ spec, primaries }) {
      return {
        written: [
          topologyKey(spec.name),
          primaryKey(spec.name, 'coordinator'),
          ...Object.keys(primaries.workers).map((g) => primaryKey(spec.name, g)),
        ],
      };
    },
    async acquireGroupLock({ group }) {
      return { lease: `lease-${group}` };
    },
    async renewGroupLock() {
      return { ttl: 30 };
    },
    async releaseGroupLock() {
      return { released: true };
    },
    async probeMember() {
      return probes.map((ok, i) => ({
        ok,
        detail: ok ? `probe ${i + 1}: answers as primary` : `probe ${i + 1}: connection refused`,
      }));
    },
    async fenceMember() {
      return { wasRunning: true };
    },
    async standbyPositions({ members }) {
      return members.map((member) => ({
        member,
        reachable: true,
        inRecovery: !promoted.has(member),
        replayLsn: '0/1000000',
        receiveLsn: '0/1000000',
        ...scenario.positions?.[member],
        ...(promoted.has(member) ? { inRecovery: false } : {}),
      }));
    },
    async promoteStandby({ member }) {
      const inDoubt = scenario.inDoubt?.[member] ?? [];
      if (promoted.has(member)) return { promoted: false, inDoubt };
      promoted.add(member);
      return { promoted: true, inDoubt };
    },
    async pointCitusAt() {
      return { updated: true, nodeId: 7 };
    },
    async waitMetadataSynced() {
      return { synced: true };
    },
    async resolveInDoubtTransactions({ gids }) {
      return { recovered: gids.length, remaining: [] };
    },
    async unfencePrimary() {
      return { started: true };
    },
    async pointCoordinatorAt() {
      return { updated: true };
    },
    async recordPrimaryChange() {
      return { recorded: true };
    },
    async rejoinMember() {
      return { action: 'rewound' as const };
    },
    async switchoverCriticalSection({ newPrimary }) {
      promoted.add(newPrimary);
      return { pauseMs: 42, promoted: true, metadataUpdated: true };
    },
    // Every image present: what the activity answers after the CLI's preflight.
    async resolveImages(spec) {
      const images = resolveImages(spec, {});
      return { images, sources: { postgres: 'present', pgbouncer: 'present', etcd: 'present' } };
    },
    async storeClusterSpec() {
      return { stateDir: true, etcd: true };
    },
    async loadClusterSpec({ cluster }) {
      const stored = scenario.stored?.[cluster];
      if (stored === undefined)
        throw ApplicationFailure.create({
          type: 'UnknownCluster',
          message: `no cluster ${cluster} set up here`,
          nonRetryable: true,
        });
      return parseSpec(stored);
    },
    async searchAttributesRegistered() {
      return scenario.searchAttributes ?? false;
    },
    async refuseDroppedGroups() {
      return { dropped: [] };
    },
    async checkRebalanceReady({ transferMode }) {
      return { nodes: 3, transferMode: transferMode ?? 'auto' };
    },
    // Job ids count from 1; a job still running is adopted (as Citus's running job would be).
    async startRebalance() {
      if (rebalance.running !== undefined) return { jobId: rebalance.running, adopted: true };
      if (rebalance.started >= jobs.length) return { jobId: null, adopted: false };
      rebalance.running = ++rebalance.started;
      rebalance.seen = 0;
      return { jobId: rebalance.running, adopted: false };
    },
    async followRebalance({ jobId }) {
      const script = jobs[jobId - 1] ?? [];
      const s = script[Math.min(rebalance.seen++, script.length - 1)] ?? { state: 'finished' as const };
      const snap: RebalanceSnapshot = {
        jobId,
        tasks: {},
        movesDone: 0,
        movesTotal: 2,
        bytesTotal: 0,
        bytesMoved: 0,
        current: [],
        errors: [],
        ...s,
      };
      if (['finished', 'failed', 'cancelled'].includes(snap.state)) rebalance.running = undefined;
      return snap;
    },
    async stopRebalance({ jobId }) {
      const cancelled = rebalance.running === jobId;
      rebalance.running = undefined;
      return { cancelled };
    },
    async checkDrain() {
      return { removed: false, placements: 4, bytesToMove: 1024 };
    },
    async markDraining() {
      return { changed: true };
    },
    async verifyDrained() {
      return { placements: 0 };
    },
    async removeWorkerNode() {
      return { removed: true };
    },
    async removeGroupContainers({ spec, group, volumes }) {
      const members = spec.members.filter((m) => m.group === group).map((m) => `citusctl-${spec.name}-${m.name}`);
      return {
        removedContainers: members,
        removedVolumes: volumes ? members.map((m) => `${m}-data`) : [],
        droppedSlots: [],
      };
    },
    async forgetGroup() {
      return { deletedKeys: 3 };
    },
    async ensureBackupStanzas({ spec, primaries }) {
      return groupsOf(spec).map((g) => ({
        stanza: g.group,
        primary: g.isCoordinator ? primaries.coordinator : (primaries.workers[g.group] ?? '?'),
        action: 'created' as const,
      }));
    },
    async closeArchiveGap() {
      return { pushed: [], checked: 0 };
    },
    // Several hosts, a host whose worker does not answer: its peers lost it too.
    async observeHostReach({ host }) {
      return { host, verdict: 'cut' as const, at: Date.now(), detail: 'g2-b cannot connect' };
    },
    // The real one's wait (its input's bounds are the real activity's own: test/unit/short-wait.test.ts).
    async shortWait({ ms }) {
      await new Promise((resolve) => setTimeout(resolve, ms));
    },
    async recordMemberStateInEtcd() {},
  };
  const impl = { ...defaults, ...overrides } as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const activities = Object.fromEntries(
    Object.entries(impl).map(([name, fn]) => [
      name,
      jest.fn(async (...args: unknown[]) => {
        // The search-attribute lookup is bookkeeping, not a runbook step: counted apart from the sequence.
        if (name === 'searchAttributesRegistered')
          lookups.push(Context.current().info.workflowExecution?.workflowId ?? '?');
        else calls.push({ name: name as MockedActivityName, input: args[0], attempt: Context.current().info.attempt });
        return fn(...args);
      }),
    ]),
  ) as unknown as Mocked;
  const called = (name: MockedActivityName) => calls.filter((c) => c.name === name);
  /** Inputs of one activity's calls, typed. */
  const inputs = <K extends MockedActivityName>(name: K) =>
    called(name).map((c) => c.input as Parameters<MockedActivities[K]>[0]);
  return { activities, calls, called, inputs, promoted, lookups };
}
