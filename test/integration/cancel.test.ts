/**
 * Cancelling a setup (the Temporal UI's Cancel, `citusctl down`) during the data load: the
 * workflow closes as cancelled, the load's step reports cancelled (it did not run on to its end),
 * no row is added after that, and a rerun of `citusctl up` finishes the load exactly once.
 * How long the cancel took is printed (a figure for the report, not an assertion).
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import * as fs from 'node:fs';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import {
  destroyCluster,
  layout,
  makeCluster,
  sleep,
  startCli,
  su,
  topology,
  upJson,
  type CliRun,
} from './support/cluster';
import { assertEndState, coordinatorRows } from './support/end-state';
import { workflowHistoryText } from './support/temporal-history';

jest.setTimeout(12 * 60_000);

const ROWS = 2_000_000;
const cluster = makeCluster(
  layout({ name: 'it-cancel', basePort: 31420, temporalPort: 32251, rows: ROWS, shardCount: 8, workers: ['g1'] }),
  32251,
);
const workflowId = `setup-${cluster.name}`;

/** The events that close an activity attempt (not STARTED, not CANCEL_REQUESTED). */
const CLOSING = new Set(['COMPLETED', 'FAILED', 'TIMED_OUT', 'CANCELED'].map((t) => `EVENT_TYPE_ACTIVITY_TASK_${t}`));

interface HistoryEvent {
  eventId: string;
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
}

/** How each scheduled loadDemoData attempt ended in the workflow's history (completed, canceled, ...). */
function loadOutcomes(): string[] {
  const { raw } = workflowHistoryText({ workflowId, port: cluster.temporalPort });
  // to read after a failure
  if (process.env.CITUSCTL_TEST_KEEP_HISTORY) fs.writeFileSync(process.env.CITUSCTL_TEST_KEEP_HISTORY, raw);
  const events = (JSON.parse(raw) as { events: HistoryEvent[] }).events;
  const loads = events
    .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'loadDemoData')
    .map((e) => e.eventId);
  return loads.map((id) => {
    const ends = events.filter(
      (e) =>
        CLOSING.has(e.eventType) &&
        Object.values(e).some((v) => (v as { scheduledEventId?: string })?.scheduledEventId === id),
    );
    return ends.length
      ? ends.map((e) => e.eventType.replace(/^EVENT_TYPE_ACTIVITY_TASK_/, '').toLowerCase()).join(',')
      : 'open';
  });
}

describe('cancelling setupCluster during the data load', () => {
  let connection: Connection;
  let client: Client;
  let up: CliRun;
  let cancelMs = 0;
  let rowsAtCancel = 0;
  let rowsAfter = 0;
  let rowsLater = 0;

  beforeAll(async () => {
    up = startCli(['up', '-c', cluster.specFile], cluster.env);
    await up.waitForLine(/^… data-load\s+running/);
    // Cancel once the load is under way: some batches committed, most still to come.
    for (let i = 0; (await coordinatorRows(cluster).catch(() => 0)) === 0; i++) {
      if (i > 600) throw new Error('no demo row committed within 2 minutes of the data load starting');
      await sleep(200);
    }
    connection = await Connection.connect({ address: `127.0.0.1:${cluster.temporalPort}` });
    client = new Client({ connection });
    const handle = client.workflow.getHandle(workflowId);
    rowsAtCancel = await coordinatorRows(cluster);
    const started = Date.now();
    await handle.cancel();
    await handle.result().catch(() => undefined);
    cancelMs = Date.now() - started;
    const atClose = await coordinatorRows(cluster);
    const exited = await up.done;
    console.log(
      `[cancel during data-load] rows ${atClose} when it closed; up exited ${exited.code} ` +
        `${Date.now() - started} ms after the cancel: ${exited.stdout.slice(-800)} ${exited.stderr.slice(-800)}`,
    );
    await sleep(1000); // a batch that was already committing when the cancel came may still land
    rowsAfter = await coordinatorRows(cluster);
    await sleep(4000);
    rowsLater = await coordinatorRows(cluster);
    console.log(
      `[cancel during data-load] cancel to closed: ${cancelMs} ms; rows ${rowsAtCancel} at the cancel, ` +
        `${rowsAfter} 1 s after it closed, ${rowsLater} 4 s later (of ${ROWS})`,
    );
  });

  afterAll(async () => {
    await connection?.close();
    await destroyCluster(cluster);
  });

  it('closes the workflow as cancelled', async () => {
    const handle = client.workflow.getHandle(workflowId);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  });

  it('the load step reported cancelled: it stopped, it did not run on to its end', () => {
    expect(loadOutcomes()).toEqual(['canceled']);
  });

  it('no row is added once the workflow is closed, and the table is not full', () => {
    expect(rowsLater).toBe(rowsAfter);
    expect(rowsAfter).toBeLessThan(ROWS);
  });

  it('a rerun of up finishes: every row exactly once, the cluster whole', async () => {
    const report = await upJson(cluster);
    expect(report.ok).toBe(true);
    expect(report.attached).toBe(false); // a new run: the cancelled one is closed
    expect(report.result.demoRowsThroughPgBouncer).toBe(ROWS);
    const ids = await su(
      cluster,
      topology(cluster).coordinator,
      async (c) =>
        (
          await c.query<{ n: string; d: string; lo: string; hi: string }>(
            'SELECT count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo, max(id) AS hi FROM ' +
              `public."${cluster.spec.demo.table}"`,
          )
        ).rows[0]!,
    );
    expect({ n: Number(ids.n), distinct: Number(ids.d), lo: Number(ids.lo), hi: Number(ids.hi) }).toEqual({
      n: ROWS,
      distinct: ROWS,
      lo: 1,
      hi: ROWS,
    });
    await assertEndState(cluster);
  });
});
