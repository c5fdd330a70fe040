/** shortWait (activities/failover/short-wait.ts): refuses what is not a short wait, else waits the whole time. */
import { ApplicationFailure } from '@temporalio/common';
import { createShortWaitActivities } from '../../activities/failover/short-wait';
import { SHORT_WAIT_MAX_MS } from '../../common/short-wait';

const { shortWait } = createShortWaitActivities();

test.each([[-1], [SHORT_WAIT_MAX_MS + 1], [Number.NaN], ['100'], [undefined]])(
  'ms %p is refused, not retried',
  async (ms) => {
    const err = await shortWait({ ms } as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ nonRetryable: true, type: 'BadConfig' });
    expect((err as Error).message).toMatch(/ms must be a number from 0 to 5000/);
  },
);

test('it waits at least the time asked (outside an activity: no heartbeat)', async () => {
  const started = process.hrtime.bigint();
  await shortWait({ ms: 120 });
  expect(Number(process.hrtime.bigint() - started) / 1e6).toBeGreaterThanOrEqual(119);
});
