/** The spec's `health` section: the interval of the `health-<cluster>` schedule. */
import { describe, expect, it } from '@jest/globals';
import { parseSpec, SpecError } from '../../common/spec';

const base = {
  name: 'hs',
  workers: ['g1'],
  members: [
    { name: 'coord-a', group: 'coordinator', port: 15101 },
    { name: 'g1-a', group: 'g1', port: 15102 },
  ],
};

const problems = (input: unknown): string[] => {
  try {
    parseSpec(input);
    return [];
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
};

describe('spec.health', () => {
  it('defaults to a check every 60 s', () => {
    expect(parseSpec(base).health).toEqual({ intervalSeconds: 60 });
    expect(parseSpec({ ...base, health: {} }).health).toEqual({ intervalSeconds: 60 });
  });

  it('takes an interval in seconds', () => {
    expect(parseSpec({ ...base, health: { intervalSeconds: 300 } }).health.intervalSeconds).toBe(300);
  });

  it.each([
    [{ intervalSeconds: 5 }, /^health\.intervalSeconds: /],
    [{ intervalSeconds: 90_000 }, /^health\.intervalSeconds: /],
    [{ intervalSeconds: 1.5 }, /^health\.intervalSeconds: /],
    [{ intervalSeconds: '60' }, /^health\.intervalSeconds: /],
    [{ every: 60 }, /^health: unknown key\(s\) "every"$/],
  ])('rejects %j, naming the field', (health, re) => {
    expect(problems({ ...base, health })).toEqual([expect.stringMatching(re)]);
  });
});
