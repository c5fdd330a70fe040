/** settledAll and withAll: concurrent work that leaves nothing running behind a failure. */
import { describe, expect, test } from '@jest/globals';
import { settledAll, withAll, type Scoped } from '../../lib/settled-all';

const tick = () => new Promise<void>((r) => setTimeout(r, 5));

/** A scoped fake resource recording when it was opened and closed. */
function fakeScope(
  name: string,
  log: string[],
  opts: { failOpen?: boolean; openDelayMs?: number } = {},
): Scoped<string> {
  return async (use) => {
    log.push(`open ${name}`);
    await new Promise((r) => setTimeout(r, opts.openDelayMs ?? 0));
    if (opts.failOpen) throw new Error(`${name} refused`);
    log.push(`opened ${name}`);
    try {
      await use(name);
    } finally {
      log.push(`close ${name}`);
    }
  };
}

describe('settledAll', () => {
  test('the values in order', async () => {
    await expect(settledAll([Promise.resolve(1), Promise.resolve('a')] as const)).resolves.toEqual([1, 'a']);
  });

  test('throws the first failure only after every promise settled', async () => {
    let slowEnded = false;
    const slow = tick().then(() => {
      slowEnded = true;
      return 2;
    });
    await expect(
      settledAll([Promise.reject(new Error('first')), slow, Promise.reject(new Error('second'))]),
    ).rejects.toThrow('first');
    expect(slowEnded).toBe(true);
  });
});

describe('withAll', () => {
  test('opens every resource before fn runs, all at once, and closes them all after it', async () => {
    const log: string[] = [];
    const result = await withAll([fakeScope('a', log, { openDelayMs: 10 }), fakeScope('b', log)], async (rs) => {
      log.push(`fn ${rs.join(',')}`);
      return rs.length;
    });
    expect(result).toBe(2);
    // b opens while a is still opening (a takes longer): concurrent, not one inside the other
    expect(log.slice(0, 4)).toEqual(['open a', 'open b', 'opened b', 'opened a']);
    expect(log[4]).toBe('fn a,b');
    expect(log.slice(5).sort()).toEqual(['close a', 'close b']);
  });

  test('fn failing: every resource is closed, then its error is thrown', async () => {
    const log: string[] = [];
    await expect(
      withAll([fakeScope('a', log), fakeScope('b', log)], async () => {
        throw new Error('fn broke');
      }),
    ).rejects.toThrow('fn broke');
    expect(log.filter((l) => l.startsWith('close')).sort()).toEqual(['close a', 'close b']);
  });

  test('one that cannot be opened: fn never runs, the opened ones are closed, its error is thrown', async () => {
    const log: string[] = [];
    let ran = false;
    await expect(
      withAll([fakeScope('a', log), fakeScope('b', log, { failOpen: true, openDelayMs: 5 })], async () => {
        ran = true;
      }),
    ).rejects.toThrow('b refused');
    expect(ran).toBe(false);
    expect(log).toContain('close a');
    expect(log).not.toContain('close b');
  });

  test('returns only once every resource is closed', async () => {
    const log: string[] = [];
    const slowClose: Scoped<string> = async (use) => {
      await use('s');
      await tick();
      log.push('closed s');
    };
    await withAll([slowClose], async () => undefined);
    expect(log).toEqual(['closed s']);
  });
});
