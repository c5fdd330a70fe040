import { mustRejoin } from '../../common/standby-follow';

describe('mustRejoin: what setup does after followPrimary', () => {
  test('a member seeded now, or one without a member state, follows as it is', () => {
    expect(mustRejoin({ seeded: true, slot: 's' })).toBe(false);
    expect(mustRejoin({ seeded: false, slot: 's' })).toBe(false);
  });

  test('a member already recorded as a standby follows as it is', () => {
    expect(mustRejoin({ seeded: false, slot: 's', existingState: 'standby' })).toBe(false);
  });

  test('a fenced member, a former primary, or one whose state cannot be read is rebuilt', () => {
    expect(mustRejoin({ seeded: false, slot: 's', existingState: 'fenced' })).toBe(true);
    expect(mustRejoin({ seeded: false, slot: 's', existingState: 'primary' })).toBe(true);
    expect(mustRejoin({ seeded: false, slot: 's', existingState: null })).toBe(true);
  });
});
