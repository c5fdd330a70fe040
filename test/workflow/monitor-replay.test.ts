/**
 * Replays a recorded monitorCluster run against the current workflow code. The monitor never
 * replays on another build (it runs on its build's own task queue and is handed over on upgrade),
 * but within one build it replays all the time: after every worker restart and every sticky-cache
 * eviction. A change that breaks its replay fails here; the same history against the monitor with
 * one extra `sleep` in its loop (a change that wedges running monitors) must fail.
 * Re-record after an intended change:
 *   RECORD_HISTORY=1 npx jest test/workflow/monitor-replay.test.ts --selectProjects workflow
 */
import { DeterminismViolationError } from '@temporalio/workflow';
import type { History } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import * as fs from 'node:fs';
import { TASK_QUEUE } from '../../common/task-queues';
import { changedMonitorSources } from './changed-monitor';
import { decodedPayloads, historyFromJson, quietRuntime, startTestEnv, workflowBundle } from './helpers';
import {
  MONITOR_FIXTURE_INPUT,
  MONITOR_FIXTURE_QUEUE,
  MONITOR_FIXTURE_WORKFLOW_ID,
  MONITOR_HISTORY_FIXTURE,
  recordMonitorHistory,
  writeMonitorFixture,
} from './record-monitor-history';

jest.setTimeout(180_000);

beforeAll(async () => {
  quietRuntime();
  if (process.env.RECORD_HISTORY !== '1') return;
  const env = await startTestEnv();
  try {
    writeMonitorFixture((await recordMonitorHistory(env, await workflowBundle())).json);
  } finally {
    await env.teardown();
  }
});

function loadFixture(): { json: string; history: History } {
  if (!fs.existsSync(MONITOR_HISTORY_FIXTURE))
    throw new Error(`${MONITOR_HISTORY_FIXTURE} is missing; record it with RECORD_HISTORY=1`);
  const json = fs.readFileSync(MONITOR_HISTORY_FIXTURE, 'utf8');
  return { json, history: historyFromJson(json) };
}

type Event = {
  eventType: string;
  workflowExecutionStartedEventAttributes?: { workflowType: { name: string }; taskQueue: { name: string } };
  activityTaskScheduledEventAttributes?: { activityType: { name: string } };
  startChildWorkflowExecutionInitiatedEventAttributes?: { workflowType: { name: string }; taskQueue: { name: string } };
  workflowExecutionUpdateAcceptedEventAttributes?: { acceptedRequest: { input: { name: string } } };
};

test('the history is one monitor run: probes, pause and resume, a failover child, then continue-as-new', () => {
  const { json } = loadFixture();
  const events = (JSON.parse(json) as { events: Event[] }).events;
  expect(events[0]!.workflowExecutionStartedEventAttributes).toMatchObject({
    workflowType: { name: 'monitorCluster' },
    taskQueue: { name: MONITOR_FIXTURE_QUEUE },
  });
  expect(events.at(-1)!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
  const probes = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType.name === 'monitorProbe');
  expect(probes.length).toBeGreaterThanOrEqual(10);
  expect(
    events.flatMap((e) =>
      e.workflowExecutionUpdateAcceptedEventAttributes
        ? [e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest.input.name]
        : [],
    ),
  ).toEqual(['pause', 'resume']);
  const children = events.flatMap((e) =>
    e.startChildWorkflowExecutionInitiatedEventAttributes
      ? [e.startChildWorkflowExecutionInitiatedEventAttributes]
      : [],
  );
  expect(children).toEqual([
    expect.objectContaining({
      workflowType: { name: 'failoverGroup' },
      taskQueue: expect.objectContaining({ name: TASK_QUEUE }),
    }),
  ]);
  expect(events.some((e) => e.eventType === 'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED')).toBe(true);
  expect(JSON.parse(decodedPayloads(json)[0]!)).toEqual(MONITOR_FIXTURE_INPUT);
});

test('replays deterministically against the current workflow code', async () => {
  const { history } = loadFixture();
  await expect(
    Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, MONITOR_FIXTURE_WORKFLOW_ID),
  ).resolves.toBeUndefined();
});

test('the same history fails to replay against the monitor with one more sleep in its loop', async () => {
  const { history } = loadFixture();
  const { workflowsPath, dir } = changedMonitorSources();
  try {
    const changed = await workflowBundle(workflowsPath);
    await expect(
      Worker.runReplayHistory({ workflowBundle: changed }, history, MONITOR_FIXTURE_WORKFLOW_ID),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
