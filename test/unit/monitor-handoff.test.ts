import {
  POLLER_FRESH_MS,
  decideHandOff,
  livePollers,
  restartReason,
  type HandOffFacts,
} from '../../common/monitor-handoff';
import { TASK_QUEUE, buildOfMonitorQueue, monitorTaskQueue, sharedQueueOf } from '../../common/task-queues';

describe('task queues', () => {
  test('one monitor queue per build beside the shared queue, and back', () => {
    const q = monitorTaskQueue('3f9a0c1d2e4b5a69');
    expect(q).toBe('citusctl-monitor-3f9a0c1d2e4b5a69');
    expect(buildOfMonitorQueue(q)).toBe('3f9a0c1d2e4b5a69');
    expect(sharedQueueOf(q)).toBe(TASK_QUEUE);
    expect(sharedQueueOf(monitorTaskQueue('abc', 'tq-x1'))).toBe('tq-x1');
  });

  test('any other queue is no monitor queue and keeps the children itself', () => {
    for (const q of ['citusctl', 'citusctl-monitor', 'citusctl-monitor-', 'tq-abc', 'citusctl-monitor-a b']) {
      expect(buildOfMonitorQueue(q)).toBeUndefined();
      expect(sharedQueueOf(q)).toBe(q);
    }
  });

  test('a build id that would make an ambiguous queue name is refused', () => {
    expect(() => monitorTaskQueue('a-b')).toThrow(/invalid build id/);
    expect(() => monitorTaskQueue('')).toThrow(/invalid build id/);
  });
});

describe('decideHandOff', () => {
  const A = monitorTaskQueue('aaaa');
  const B = monitorTaskQueue('bbbb');
  const facts = (f: Partial<HandOffFacts>): HandOffFacts => ({
    target: B,
    targetPolled: true,
    currentPolled: false,
    startIfMissing: false,
    ...f,
  });

  test('none running: started only when asked (up), never by a worker starting', () => {
    expect(decideHandOff(facts({ startIfMissing: true }))).toBe('start');
    expect(decideHandOff(facts({}))).toBe('none');
  });

  test('already on the target build: kept', () => {
    expect(decideHandOff(facts({ running: { taskQueue: B }, currentPolled: true }))).toBe('keep');
  });

  test('on another build: moved while that build has a worker, restarted once nobody runs it', () => {
    expect(decideHandOff(facts({ running: { taskQueue: A }, currentPolled: true }))).toBe('move');
    expect(decideHandOff(facts({ running: { taskQueue: A }, currentPolled: false }))).toBe('restart');
    // The queue of a version before per-build queues: nobody polls it after the upgrade.
    expect(decideHandOff(facts({ running: { taskQueue: 'citusctl-monitor' } }))).toBe('restart');
  });

  test('no worker of the target build yet: a running monitor is left, a stranded one restarted on the target', () => {
    expect(decideHandOff(facts({ running: { taskQueue: A }, targetPolled: false, currentPolled: true }))).toBe('leave');
    expect(decideHandOff(facts({ running: { taskQueue: A }, targetPolled: false, currentPolled: false }))).toBe(
      'restart',
    );
  });
});

describe('livePollers', () => {
  const now = 1_000_000_000;
  const alive = (pid: number) => pid === 42;

  test('fresh pollers count; one not seen for longer than a long poll does not', () => {
    expect(livePollers([{ identity: 'other@host', lastAccessMs: now - 1000 }], now, alive)).toHaveLength(1);
    expect(livePollers([{ identity: 'other@host', lastAccessMs: now - POLLER_FRESH_MS - 1 }], now, alive)).toHaveLength(
      0,
    );
    expect(livePollers([{ identity: 'other@host' }], now, alive)).toHaveLength(0);
  });

  test('a citusctl worker of this host whose process is gone does not count, however fresh', () => {
    expect(livePollers([{ identity: 'citusctl-worker@42', lastAccessMs: now }], now, alive)).toHaveLength(1);
    expect(livePollers([{ identity: 'citusctl-worker@43', lastAccessMs: now }], now, alive)).toHaveLength(0);
  });
});

test('the termination reason names the build and where the state is', () => {
  expect(restartReason('bbbb')).toBe(
    'citusctl upgraded to build bbbb: the monitor restarts on it; its state is in etcd',
  );
});
