/**
 * pgBackRest failures as Temporal failures (lib/backup/pgbackrest.ts classifyPgbackrestError): a
 * lock held or a server not answering is retried, a refusal (bad stanza, bad config) is not, and a
 * run killed with its container (exit 128 + signal: a failover's `docker kill`) is retried, saying so.
 */
import { ErrorTypes } from '../../common/error-types';
import { PgbackrestError, classifyPgbackrestError, killedBySignal } from '../../lib/backup/pgbackrest';

const classify = (exitCode: number) =>
  classifyPgbackrestError(new PgbackrestError('backup', exitCode, 'some output'), 'g1: full backup on g1-a');

describe('classifyPgbackrestError', () => {
  test('killed by SIGKILL with its container (137): retryable, the signal named', () => {
    const f = classify(137);
    expect(f.nonRetryable).toBe(false);
    expect(f.type).toBe(ErrorTypes.NotReady);
    expect(f.message).toMatch(/^g1: full backup on g1-a: pgbackrest backup failed \(exit 137\)/);
    expect(f.message).toMatch(/killed by signal 9/);
  });

  test('SIGTERM (143) too', () => {
    expect(classify(143)).toMatchObject({ nonRetryable: false, type: ErrorTypes.NotReady });
  });

  test('a lock held (50): retryable', () => {
    expect(classify(50)).toMatchObject({ nonRetryable: false, type: ErrorTypes.NotReady });
  });

  test("pgBackRest's own refusal (e.g. 28, 55): not retryable", () => {
    for (const code of [28, 55, 125])
      expect(classify(code)).toMatchObject({ nonRetryable: true, type: ErrorTypes.BadConfig });
  });

  test('killedBySignal', () => {
    expect(killedBySignal(137)).toBe(9);
    expect(killedBySignal(128)).toBeUndefined();
    expect(killedBySignal(50)).toBeUndefined();
  });
});
