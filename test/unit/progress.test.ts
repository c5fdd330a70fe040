import { ProgressTracker } from '../../common/progress';

function tracker() {
  let t = 1000;
  const now = () => (t += 10);
  return new ProgressTracker('wf', ['a', 'b', 'c'], now);
}

describe('ProgressTracker', () => {
  test('every step starts pending', () => {
    expect(tracker().snapshot()).toEqual({
      workflow: 'wf',
      steps: [
        { name: 'a', state: 'pending' },
        { name: 'b', state: 'pending' },
        { name: 'c', state: 'pending' },
      ],
    });
  });

  test('run: running while in flight, then done with the described result', async () => {
    const p = tracker();
    let release!: (v: number) => void;
    const running = p.run(
      'a',
      () => new Promise<number>((r) => (release = r)),
      (n) => `got ${n}`,
    );
    expect(p.snapshot().steps[0]).toMatchObject({ name: 'a', state: 'running', startedAt: 1010 });
    expect(p.snapshot().steps[0]!.endedAt).toBeUndefined();
    release(42);
    await expect(running).resolves.toBe(42);
    expect(p.snapshot().steps[0]).toEqual({
      name: 'a',
      state: 'done',
      startedAt: 1010,
      endedAt: 1020,
      detail: 'got 42',
    });
  });

  test('run without describe leaves no detail', async () => {
    const p = tracker();
    await p.run('b', async () => 'x');
    expect(p.snapshot().steps[1]).toMatchObject({ state: 'done', detail: undefined });
  });

  test('skip', () => {
    const p = tracker();
    p.skip('b', 'not requested');
    expect(p.snapshot().steps[1]).toEqual({ name: 'b', state: 'skipped', endedAt: 1010, detail: 'not requested' });
  });

  test('run: failed with the error message, and rethrows', async () => {
    const p = tracker();
    const err = new Error('boom');
    await expect(p.run('c', async () => Promise.reject(err))).rejects.toBe(err);
    expect(p.snapshot().steps[2]).toMatchObject({ state: 'failed', detail: 'boom', startedAt: 1010, endedAt: 1020 });
  });

  test('run: failure detail prefers the cause (as an ActivityFailure wraps the ApplicationFailure)', async () => {
    const p = tracker();
    const wrapped = new Error('Activity task failed', { cause: new Error('invalid cluster spec: name') });
    await expect(p.run('a', async () => Promise.reject(wrapped))).rejects.toBe(wrapped);
    expect(p.snapshot().steps[0]).toMatchObject({ state: 'failed', detail: 'invalid cluster spec: name' });
  });

  test('run: a non-Error rejection is stringified', async () => {
    const p = tracker();
    await expect(p.run('a', async () => Promise.reject('plain'))).rejects.toBe('plain');
    expect(p.snapshot().steps[0]).toMatchObject({ state: 'failed', detail: 'plain' });
  });

  test('a rerun clears the previous end time and detail', async () => {
    const p = tracker();
    await expect(p.run('a', async () => Promise.reject(new Error('first')))).rejects.toThrow();
    p.start('a');
    expect(p.snapshot().steps[0]).toEqual({
      name: 'a',
      state: 'running',
      startedAt: 1030,
      endedAt: undefined,
      detail: undefined,
    });
  });

  test('unknown step names throw', async () => {
    const p = tracker();
    expect(() => p.start('zzz')).toThrow(/unknown step zzz/);
    expect(() => p.skip('zzz', 'x')).toThrow(/unknown step zzz/);
    await expect(p.run('zzz', async () => 1)).rejects.toThrow(/unknown step zzz/);
  });

  test('snapshots are immutable copies', async () => {
    const p = tracker();
    const before = p.snapshot();
    before.steps[0]!.state = 'failed';
    before.steps.push({ name: 'injected', state: 'done' });
    (before as { workflow: string }).workflow = 'other';
    const fresh = p.snapshot();
    expect(fresh.workflow).toBe('wf');
    expect(fresh.steps).toHaveLength(3);
    expect(fresh.steps[0]!.state).toBe('pending');

    // And a snapshot taken earlier does not change when the tracker moves on.
    const early = p.snapshot();
    await p.run(
      'a',
      async () => 1,
      () => 'one',
    );
    expect(early.steps[0]).toEqual({ name: 'a', state: 'pending' });
    expect(p.snapshot().steps[0]!.state).toBe('done');
  });
});
