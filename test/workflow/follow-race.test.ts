/**
 * The race behind "Error: Channel has been shut down" after a setup that succeeded: a progress
 * query still in flight when the workflow completes and the CLI closes its connection. Then the
 * SDK's gRPC retry interceptor fires a timer into the closed channel and Node dies of an uncaught
 * exception. Here, against a real Temporal dev server, the follower's query is held in flight (it
 * asks a workflow on a task queue no worker polls, which the server cannot answer) while the
 * followed workflow completes; the connection is closed as soon as followWorkflow returns, and the
 * test waits past the retry interceptor's backoff. An uncaught exception in that window fails the
 * test (jest reports it against the running test); so does an unhandled rejection (counted below).
 */
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';
import { abortableQuery, followWorkflow } from '../../client/follow-workflow';
import { uniqueId } from './helpers';
import { useWorkflowEnv } from './workflow-env';

jest.setTimeout(60_000);

const wf = useWorkflowEnv({ workflowsPath: require.resolve('./race-workflows') });

type Step = { step: string };

/** Where the follower's next query goes: the followed workflow, or one nobody can answer. */
function switchableQuery(client: Client, followed: WorkflowHandle, unanswerable: WorkflowHandle) {
  let target: 'followed' | 'unanswerable' = 'followed';
  let inFlight = 0;
  let unanswerableStarted: () => void = () => undefined;
  const started = new Promise<void>((r) => (unanswerableStarted = r));
  const query = async (signal: AbortSignal): Promise<Step> => {
    const handle = target === 'followed' ? followed : unanswerable;
    inFlight++;
    if (handle === unanswerable) unanswerableStarted();
    try {
      return await abortableQuery<Step>(client, handle, 'progress')(signal);
    } finally {
      inFlight--;
    }
  };
  return {
    query,
    set target(t: 'followed' | 'unanswerable') {
      target = t;
    },
    unanswerableInFlight: started,
    get inFlight() {
      return inFlight;
    },
  };
}

test('a workflow completing while a progress query is in flight is reported completed; closing is quiet', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const taskQueue = uniqueId('race');
  const worker = await wf.worker(taskQueue);
  // A channel of its own, as the CLI has: grpc-js would otherwise share the transport with env's
  // connection, and closing ours would not end a call still in flight on it.
  const connection = await Connection.connect({
    address: wf.env.address,
    channelArgs: { 'grpc.use_local_subchannel_pool': 1 },
  });
  const client = new Client({ connection, namespace: wf.env.namespace ?? 'default' });
  let closed = false;
  let terminateUnanswerable = async () => undefined as void;
  try {
    await worker.runUntil(async () => {
      const handle = await client.workflow.start('finishOnSignal', {
        taskQueue,
        workflowId: uniqueId('race-followed'),
        args: [],
      });
      const unanswerable = await client.workflow.start('finishOnSignal', {
        taskQueue: uniqueId('nobody-polls'),
        workflowId: uniqueId('race-unanswerable'),
        args: [],
      });
      terminateUnanswerable = () =>
        wf.client.workflow
          .getHandle(unanswerable.workflowId)
          .terminate('test done')
          .then(() => undefined);
      const q = switchableQuery(client, handle, unanswerable);
      const seen: Step[] = [];
      const following = followWorkflow<string, Step>({
        result: () => handle.result(),
        query: q.query,
        onProgress: (p) => seen.push(p),
        intervalMs: 50,
      });

      while (!seen.length) await sleep(20); // progress flows from the followed workflow
      q.target = 'unanswerable';
      await q.unanswerableInFlight;
      await sleep(300); // let the query reach the server: it is now held there, in flight
      q.target = 'followed'; // the last query after completion asks the followed workflow again
      expect(q.inFlight).toBe(1);
      await handle.signal('finish'); // completes while that query is pending

      const followed = await following;
      expect(q.inFlight).toBe(0); // nothing left in flight when followWorkflow returns
      await connection.close(); // what the CLI does next
      closed = true;
      expect(followed.result).toBe('completed');
      expect(followed.last).toEqual({ step: 'done' }); // the final progress, from the completed workflow
    });
    // Past the retry interceptor's first backoff (~100-200 ms) many times over: a timer firing into
    // the closed channel would throw here, and jest would fail this test with it.
    await sleep(2_000);
    expect(unhandled).toEqual([]);
  } finally {
    await terminateUnanswerable();
    process.off('unhandledRejection', onUnhandled);
    if (!closed) await connection.close();
  }
});
