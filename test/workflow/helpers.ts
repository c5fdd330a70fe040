/**
 * Shared by the workflow tests: one bundle per test file, a real Temporal dev server (never downloaded),
 * a fixed spec, and history (de)coding for the replay test. Mocked activities: mock-activities.ts.
 */
import type { SearchAttributeKey, SearchAttributeType } from '@temporalio/common/lib/search-attributes';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Activities } from '../../activities';
import { createSpecActivities } from '../../activities/setup/spec';
import type { ActivityDeps } from '../../activities/deps';
import type { ClusterSpec, ClusterSpecInput } from '../../common/spec';
import { TlsStore } from '../../lib/tls/tls-store';
import { SecretStore } from '../../lib/secrets';
import { temporalBinary } from '../../lib/temporal-server';
import { cachedBundle } from './bundle-cache';

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

/** SPEC_INPUT on two hosts (placement spreads the members; backups off, as several hosts require). */
const HOST_TLS = { caFile: '/etc/h/ca.pem', certFile: '/etc/h/cert.pem', keyFile: '/etc/h/key.pem' };
export const SEVERAL_HOSTS_INPUT: ClusterSpecInput = {
  ...SPEC_INPUT,
  backup: { enabled: false },
  hosts: [
    { name: 'h1', endpoint: 'tcp://10.1.0.1:2376', tls: HOST_TLS },
    { name: 'h2', endpoint: 'tcp://10.1.0.2:2376', tls: HOST_TLS },
  ],
};

let runtimeInstalled = false;
/** The SDK logs every workflow/activity failure at WARN/ERROR; the tests provoke those on purpose. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
    });
  } catch {
    // Already installed in this process (another test file): keep that one.
  }
}

/** A dev server from the Temporal CLI on this machine; `searchAttributes` registers those (as `citusctl up` does). */
export async function startTestEnv(
  searchAttributes: SearchAttributeKey<SearchAttributeType>[] = [],
): Promise<TestWorkflowEnvironment> {
  if (!fs.existsSync(TEMPORAL_CLI))
    throw new Error(`Temporal CLI not found at ${TEMPORAL_CLI}; set TEMPORAL_CLI_PATH (the tests never download it)`);
  quietRuntime();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: TEMPORAL_CLI },
      ...(searchAttributes.length ? { searchAttributes } : {}),
      log: { format: 'pretty', level: 'error' },
    },
  });
}

/** Bundles workflows/ from source (not dist/, which may be stale), once per set of sources (bundle-cache.ts). */
let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
export function workflowBundle(workflowsPath = WORKFLOWS_PATH): Promise<WorkflowBundleWithSourceMap> {
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error } as never;
  if (workflowsPath !== WORKFLOWS_PATH) return bundleWorkflowCode({ workflowsPath, logger: quiet });
  bundle ??= cachedBundle(() => bundleWorkflowCode({ workflowsPath, logger: quiet }));
  return bundle;
}

export const uniqueId = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
/** A unique cluster name that is a valid spec name (at most 24 characters, no trailing dash). */
export const uniqueClusterName = (prefix: string) =>
  uniqueId(prefix)
    .slice(0, 24)
    .replace(/[^a-z0-9-]/g, '')
    .replace(/-$/, 'x');

/** validateSpec as in production (real parseSpec, real SecretStore in a temp dir), for the no-secrets checks. */
export function realValidateSpec(): {
  validateSpec: Activities['validateSpec'];
  secretsRoot: string;
  secrets: SecretStore;
} {
  const secretsRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-wftest-'));
  const secrets = new SecretStore(secretsRoot);
  const deps = { secrets, tls: new TlsStore(secretsRoot), env: {}, log: () => {} } as unknown as ActivityDeps;
  return { ...createSpecActivities(deps), secretsRoot, secrets };
}

/** Every payload in a history, decoded (json/plain payloads are base64 JSON in the history's JSON form). */
export function decodedPayloads(historyJson: string): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.data === 'string' && o.metadata && typeof o.metadata === 'object')
        out.push(Buffer.from(o.data, 'base64').toString('utf8'));
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
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType(
  'temporal.api.history.v1.History',
);

/** The checkout's root in recorded stack traces becomes /citusctl/: no path of the recording machine in a fixture. */
export function historyToJson(history: History): string {
  const json = JSON.stringify(
    protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)),
    null,
    2,
  );
  return json.split(path.resolve(__dirname, '..', '..') + '/').join('/citusctl/') + '\n';
}

export function historyFromJson(json: string): History {
  const loaded = protojson.fromJson(historyType, JSON.parse(json), { ignoreUnknownFields: true });
  if (!loaded) throw new TypeError('invalid history JSON');
  return loaded;
}
