/**
 * Shared by the workflow tests: one bundle per test file, a real Temporal dev server (never downloaded),
 * mocked activities that record their calls, and a fixed spec.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Activities } from '../../activities';
import { createSpecActivities } from '../../activities/spec';
import type { ActivityDeps } from '../../activities/deps';
import { parseSpec, SpecError, type ClusterSpec, type ClusterSpecInput } from '../../common/spec';
import { SecretStore } from '../../lib/secrets';
import { temporalBinary } from '../../lib/temporal-server';

export const TEMPORAL_CLI = temporalBinary() ?? 'temporal (not found: set TEMPORAL_CLI_PATH)';
export const WORKFLOWS_PATH = require.resolve('../../workflows');
export const FIXTURES = path.join(__dirname, '..', 'fixtures');
export const HISTORY_FIXTURE = path.join(FIXTURES, 'setup-cluster-history.json');

/** Coordinator + standby, g1 with two standbys, g2 with one: every shape standbyAssignments has to handle. */
export const SPEC_INPUT: ClusterSpecInput = {
  name: 'wftest',
  workers: ['g1', 'g2'],
  members: [
    { name: 'coord-a', group: 'coordinator', port: 15432 },
    { name: 'coord-b', group: 'coordinator', port: 15433 },
    { name: 'g1-a', group: 'g1', port: 15434 },
    { name: 'g1-b', group: 'g1', port: 15435 },
    { name: 'g1-c', group: 'g1', port: 15436 },
    { name: 'g2-a', group: 'g2', port: 15437 },
    { name: 'g2-b', group: 'g2', port: 15438 },
  ],
  demo: { rows: 1000, shardCount: 8 },
};

let runtimeInstalled = false;
/** The SDK logs every workflow/activity failure at WARN/ERROR; the tests provoke those on purpose. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
  } catch {
    // Already installed in this process (another test file): keep that one.
  }
}

export async function startTestEnv(): Promise<TestWorkflowEnvironment> {
  if (!fs.existsSync(TEMPORAL_CLI)) throw new Error(`Temporal CLI not found at ${TEMPORAL_CLI}; set TEMPORAL_CLI_PATH (the tests never download it)`);
  quietRuntime();
  return TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: TEMPORAL_CLI }, log: { format: 'pretty', level: 'error' } } });
}

/** Bundles workflows/ from source (not dist/, which may be stale), once per test file. */
let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
export function workflowBundle(workflowsPath = WORKFLOWS_PATH): Promise<WorkflowBundleWithSourceMap> {
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error } as never;
  if (workflowsPath !== WORKFLOWS_PATH) return bundleWorkflowCode({ workflowsPath, logger: quiet });
  bundle ??= bundleWorkflowCode({ workflowsPath, logger: quiet });
  return bundle;
}

export const uniqueId = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

export interface Call {
  name: keyof SetupActivities;
  input: unknown;
  attempt: number;
}

/** The activities setupCluster calls (the worker registers only these; other workflows' activities are not needed). */
export const SETUP_ACTIVITY_NAMES = [
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
] as const satisfies ReadonlyArray<keyof Activities>;
export type SetupActivities = Pick<Activities, (typeof SETUP_ACTIVITY_NAMES)[number]>;

type Mocked = { [K in keyof SetupActivities]: jest.Mock<ReturnType<SetupActivities[K]>, Parameters<SetupActivities[K]>> };

/**
 * Activities that answer like a fresh cluster would, recording every call (with its attempt) in order.
 * Override any of them; overrides are wrapped so their calls are recorded too.
 */
export function mockActivities(overrides: Partial<SetupActivities> = {}): { activities: Mocked; calls: Call[]; called: (name: keyof SetupActivities) => Call[] } {
  const calls: Call[] = [];
  const defaults: SetupActivities = {
    async validateSpec(input: unknown) {
      try {
        return parseSpec(input);
      } catch (err) {
        if (err instanceof SpecError) throw ApplicationFailure.create({ type: 'BadConfig', message: err.message, nonRetryable: true });
        throw err;
      }
    },
    async provisionCluster(spec) {
      return { network: `citusctl-${spec.name}`, subnet: '172.30.0.0/24', created: spec.members.map((m) => m.name) };
    },
    async readLivePrimaries(spec) {
      const first = (g: string) => spec.members.find((m) => m.group === g)!.name;
      return { coordinator: first('coordinator'), workers: Object.fromEntries(spec.workers.map((g) => [g, first(g)])) };
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
      return { perWorker: Object.fromEntries(workers.map((w) => [w, { placements: each, tablesPresent: each }])), shardCount: spec.demo.shardCount };
    },
    async followPrimary({ standby }) {
      return { seeded: true, slot: `citusctl_${standby.replace(/-/g, '_')}` };
    },
    async checkReplication({ standby, primary }) {
      return { standby, primary, slot: `citusctl_${standby.replace(/-/g, '_')}`, state: 'streaming', lagBytes: 0, synchronous: true };
    },
    async configureDurability({ standbys }) {
      return { synchronousStandbyNames: standbys.length ? `FIRST 1 (${standbys.join(', ')})` : '' };
    },
    async initPgBouncer({ spec }) {
      return { changed: true, demoRows: spec.demo.rows };
    },
    async publishToEtcd({ spec }) {
      return { written: [`/citusctl/${spec.name}/topology`] };
    },
  };
  const impl = { ...defaults, ...overrides } as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const activities = Object.fromEntries(
    Object.entries(impl).map(([name, fn]) => [
      name,
      jest.fn(async (...args: unknown[]) => {
        calls.push({ name: name as keyof SetupActivities, input: args[0], attempt: Context.current().info.attempt });
        return fn(...args);
      }),
    ]),
  ) as unknown as Mocked;
  return { activities, calls, called: (name) => calls.filter((c) => c.name === name) };
}

/** validateSpec as in production (real parseSpec, real SecretStore in a temp dir), for the no-secrets checks. */
export function realValidateSpec(): { validateSpec: Activities['validateSpec']; secretsRoot: string; secrets: SecretStore } {
  const secretsRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-wftest-'));
  const secrets = new SecretStore(secretsRoot);
  const deps = { secrets, env: {}, log: () => {} } as unknown as ActivityDeps;
  return { ...createSpecActivities(deps), secretsRoot, secrets };
}

/** Every payload in a history, decoded (json/plain payloads are base64 JSON in the history's JSON form). */
export function decodedPayloads(historyJson: string): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.data === 'string' && o.metadata && typeof o.metadata === 'object') out.push(Buffer.from(o.data, 'base64').toString('utf8'));
      Object.values(o).forEach(walk);
    }
  };
  walk(JSON.parse(historyJson));
  return out;
}

export type { ClusterSpec };

/*
 * History <-> proto3 JSON (the format `temporal workflow show -o json` and the UI download produce).
 * @temporalio/common's historyToJSON/historyFromJSON throw "type must be a Type" in this install: npm keeps
 * separate copies of protobufjs 8 under @temporalio/common, /proto and /worker (the root one is 7.x, for
 * @grpc/proto-loader), and common's protojson does an instanceof check against its own copy while the
 * History type comes from @temporalio/proto's. So use the protojson that belongs to @temporalio/proto.
 */
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import type { History } from '@temporalio/common/lib/proto-utils';

const protoPackageDir = path.dirname(require.resolve('@temporalio/proto/package.json'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [protoPackageDir] })) as {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): History | null;
};
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');

export function historyToJson(history: History): string {
  return JSON.stringify(protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)), null, 2) + '\n';
}

export function historyFromJson(json: string): History {
  const loaded = protojson.fromJson(historyType, JSON.parse(json), { ignoreUnknownFields: true });
  if (!loaded) throw new TypeError('invalid history JSON');
  return loaded;
}
