import { catchUpDecision, switchoverFenceReason } from '../../common/switchover-decisions';

const REASON = switchoverFenceReason('switchover-demo-coordinator', 'run-1', 'coord-b');
const base = { oldPrimary: 'coord-a', flushLsn: undefined, readError: 'connection refused', fenceReason: REASON };

describe('catchUpDecision', () => {
  test('a readable flush position is waited for', () => {
    expect(catchUpDecision({ ...base, flushLsn: '0/3000060', oldContainerRunning: true, oldState: undefined })).toEqual(
      { action: 'wait', lsn: '0/3000060' },
    );
  });

  test('unreadable while its container runs: retry, never skip', () => {
    const d = catchUpDecision({
      ...base,
      oldContainerRunning: true,
      oldState: { state: 'fenced', at: 't', reason: REASON },
    });
    expect(d.action).toBe('retry');
  });

  test('stopped and fenced by an earlier attempt of this same switchover: skip', () => {
    const d = catchUpDecision({
      ...base,
      oldContainerRunning: false,
      oldState: { state: 'fenced', at: 't', reason: REASON },
    });
    expect(d).toMatchObject({ action: 'skip' });
  });

  test.each([
    ['stopped but not fenced (a crash, someone stopped it)', { state: 'primary' as const, at: 't' }],
    [
      'fenced by another run',
      {
        state: 'fenced' as const,
        at: 't',
        reason: switchoverFenceReason('switchover-demo-coordinator', 'run-0', 'coord-b'),
      },
    ],
    [
      'fenced by a failover',
      { state: 'fenced' as const, at: 't', reason: 'fenced by failover-demo-coordinator/x: coord-b takes over' },
    ],
    ['no state at all', null],
  ])('stopped, %s: retry', (_what, oldState) => {
    const d = catchUpDecision({ ...base, oldContainerRunning: false, oldState });
    expect(d.action).toBe('retry');
    if (d.action === 'retry') expect(d.why).toContain('connection refused');
  });

  test('an unknown run (outside an activity) never skips', () => {
    expect(
      catchUpDecision({
        ...base,
        fenceReason: undefined,
        oldContainerRunning: false,
        oldState: { state: 'fenced', at: 't', reason: REASON },
      }).action,
    ).toBe('retry');
  });
});

describe('switchoverFenceReason', () => {
  test('names the run and the target; differs between runs', () => {
    expect(REASON).toContain('switchover-demo-coordinator/run-1');
    expect(REASON).toContain('coord-b');
    expect(switchoverFenceReason('switchover-demo-coordinator', 'run-2', 'coord-b')).not.toBe(REASON);
  });
});
