import { describe, expect, test } from '@jest/globals';
import { errorMessage } from '../../common/error-message';

describe('errorMessage', () => {
  test("the cause's message when the error wraps one (an activity's failure)", () => {
    expect(errorMessage(new Error('activity task failed', { cause: new Error('g1-b is not reachable') }))).toBe(
      'g1-b is not reachable',
    );
  });
  test('the message of an error without a cause, or with a cause that is no Error', () => {
    expect(errorMessage(new Error('plain'))).toBe('plain');
    expect(errorMessage(new Error('outer', { cause: 'a string' }))).toBe('outer');
  });
  test('anything else as text', () => {
    expect(errorMessage('boom')).toBe('boom');
    expect(errorMessage(42)).toBe('42');
  });
});
