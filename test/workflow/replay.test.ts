/**
 * Replays a recorded setupCluster history against the current workflow code: a change that would break
 * running workflows (different commands in a different order) fails here.
 * Re-record after an intended, versioned change:
 *   RECORD_HISTORY=1 npx jest test/workflow/replay.test.ts --selectProjects workflow
 */
import { DeterminismViolationError } from '@temporalio/workflow';
import type { History } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  decodedPayloads,
  historyFromJson,
  HISTORY_FIXTURE,
  quietRuntime,
  SPEC_INPUT,
  startTestEnv,
  workflowBundle,
} from './helpers';
import { assertNoSecrets, recordHistory, RECORDED_INPUT, RECORDED_WORKFLOW_ID, writeFixture } from './record-history';

jest.setTimeout(120_000);

const RECORD = process.env.RECORD_HISTORY === '1';

beforeAll(async () => {
  quietRuntime();
  if (!RECORD) return;
  const env = await startTestEnv();
  try {
    const { json } = await recordHistory(env, await workflowBundle());
    writeFixture(json);
  } finally {
    await env.teardown();
  }
});

function loadFixture(): { json: string; history: History } {
  if (!fs.existsSync(HISTORY_FIXTURE))
    throw new Error(`${HISTORY_FIXTURE} is missing; record it with RECORD_HISTORY=1`);
  const json = fs.readFileSync(HISTORY_FIXTURE, 'utf8');
  return { json, history: historyFromJson(json) };
}

const eventTypes = (json: string) =>
  (JSON.parse(json) as { events: { eventType: string }[] }).events.map((e) => e.eventType);

test('the recorded history is a complete setupCluster run', () => {
  const { json } = loadFixture();
  type Event = {
    workflowExecutionStartedEventAttributes?: { workflowType: { name: string } };
    activityTaskScheduledEventAttributes?: { activityType: { name: string } };
  };
  const raw = JSON.parse(json) as { events: Event[] };
  expect(raw.events[0]!.workflowExecutionStartedEventAttributes!.workflowType.name).toBe('setupCluster');
  expect(eventTypes(json).at(-1)).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
  const scheduled = raw.events.flatMap((e) =>
    e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType.name] : [],
  );
  expect(scheduled).toContain('cleanUp');
  expect(scheduled.at(0)).toBe('validateSpec');
  expect(scheduled.at(-1)).toBe('publishToEtcd');
});

test('the recorded history carries no secret: its input is the spec only', () => {
  const { json } = loadFixture();
  assertNoSecrets(json);
  expect(json).not.toMatch(/"identity": "\d+@/); // recorded identities are scrubbed of the host name
  const payloads = decodedPayloads(json);
  // The first payload is the workflow input: exactly what the CLI sends, a spec and two flags.
  expect(JSON.parse(payloads[0]!)).toEqual(RECORDED_INPUT);
  expect(Object.keys(JSON.parse(payloads[0]!)).sort()).toEqual(['clean', 'force', 'spec']);
  expect(JSON.parse(payloads[0]!).spec.name).toBe(SPEC_INPUT.name);
});

test('replays deterministically against the current workflow code', async () => {
  const { history } = loadFixture();
  await expect(
    Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, RECORDED_WORKFLOW_ID),
  ).resolves.toBeUndefined();
});

test('the same history fails to replay against a non-deterministic edit of the workflow', async () => {
  const { history } = loadFixture();
  const variant = await workflowBundle(path.join(__dirname, '..', 'fixtures', 'nondeterministic-workflows'));
  await expect(
    Worker.runReplayHistory({ workflowBundle: variant }, history, RECORDED_WORKFLOW_ID),
  ).rejects.toBeInstanceOf(DeterminismViolationError);
});
