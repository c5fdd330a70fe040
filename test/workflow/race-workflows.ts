/** Test-only workflow for follow-race.test.ts: reports a step through the `progress` query, completes on a signal. */
import { condition, defineQuery, defineSignal, setHandler } from '@temporalio/workflow';

export const progressQuery = defineQuery<{ step: string }>('progress');
export const finishSignal = defineSignal('finish');

export async function finishOnSignal(): Promise<string> {
  let step = 'waiting';
  let finish = false;
  setHandler(progressQuery, () => ({ step }));
  setHandler(finishSignal, () => {
    finish = true;
  });
  await condition(() => finish);
  step = 'done';
  return 'completed';
}
