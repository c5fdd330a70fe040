/** The bench's one workflow: the same short waits on a workflow timer and through shortWait (workflow clock). */
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../../activities';

const { shortWait } = proxyActivities<Pick<Activities, 'shortWait'>>({
  startToCloseTimeout: '1m',
  heartbeatTimeout: '2s',
});

export interface WaitSample {
  ms: number;
  timerMs: number;
  workerMs: number;
}

export async function timedWaits(input: { waits: number[] }): Promise<WaitSample[]> {
  const out: WaitSample[] = [];
  for (const ms of input.waits) {
    let t = Date.now();
    await sleep(ms);
    const timerMs = Date.now() - t;
    t = Date.now();
    await shortWait({ ms });
    out.push({ ms, timerMs, workerMs: Date.now() - t });
  }
  return out;
}
