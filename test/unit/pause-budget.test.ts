import { beforeDeadline, PauseBudgetExceeded } from '../../activities/failover/coordinator-switchover';

describe('beforeDeadline (the coordinator switchover pause budget)', () => {
  test('passes a result through before the deadline', async () => {
    await expect(beforeDeadline(Promise.resolve(7), Date.now() + 1000, 'x')).resolves.toBe(7);
  });

  test('passes an error through before the deadline', async () => {
    await expect(beforeDeadline(Promise.reject(new Error('boom')), Date.now() + 1000, 'x')).rejects.toThrow('boom');
  });

  test('a step still running at the deadline fails the budget (the step itself is not awaited)', async () => {
    const never = new Promise<never>(() => undefined);
    await expect(beforeDeadline(never, Date.now() + 20, 'waiting for PAUSE')).rejects.toThrow(PauseBudgetExceeded);
    await expect(beforeDeadline(never, Date.now() + 20, 'waiting for PAUSE')).rejects.toThrow(
      'while waiting for PAUSE',
    );
  });

  test('no step starts once the budget is spent', async () => {
    await expect(beforeDeadline(Promise.resolve(1), Date.now() - 1, 'fencing')).rejects.toThrow('spent before fencing');
  });
});
