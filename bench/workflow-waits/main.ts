/**
 * How late a short wait ends, on a workflow timer and through the shortWait activity (what the
 * failover's fence waits use since host-fence-precise-waits): a real Temporal dev server (the
 * Temporal CLI on this machine, TEMPORAL_CLI_PATH), one worker, ROUNDS rounds of waits from 50 ms to
 * 2 s. Prints each wait's median and maximum lateness (elapsed minus asked, on the workflow's clock:
 * the times of the workflow tasks that saw it begin and end).
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createShortWaitActivities } from '../../activities/failover/short-wait';
import { temporalBinary } from '../../lib/temporal-server';
import type { WaitSample } from './workflows';

const WAITS = [50, 100, 200, 300, 500, 800, 1000, 1300, 2000];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const cli = temporalBinary();
  if (!cli) throw new Error('no Temporal CLI: set TEMPORAL_CLI_PATH');
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: cli }, log: { format: 'pretty', level: 'error' } },
  });
  try {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'bench-waits',
      workflowsPath: require.resolve('./workflows'),
      activities: createShortWaitActivities(),
    });
    const samples: WaitSample[] = [];
    await worker.runUntil(async () => {
      for (let r = 0; r < rounds; r++)
        samples.push(
          ...(await env.client.workflow.execute('timedWaits', {
            taskQueue: 'bench-waits',
            workflowId: `bench-waits-${Date.now()}-${r}`,
            args: [{ waits: WAITS }],
          })),
        );
    });
    console.log(`lateness (ms) over ${rounds} rounds: asked | workflow timer median/max | shortWait median/max`);
    for (const ms of WAITS) {
      const of = samples.filter((s) => s.ms === ms);
      const timer = of.map((s) => s.timerMs - ms);
      const work = of.map((s) => s.workerMs - ms);
      console.log(
        `${String(ms).padStart(5)} | ${median(timer)}/${Math.max(...timer)} | ${median(work)}/${Math.max(...work)}`,
      );
    }
  } finally {
    await env.teardown();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
