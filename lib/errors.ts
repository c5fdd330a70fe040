/**
 * Error classification. Retryable: the world is not ready yet (node starting, connection refused).
 * Non-retryable: retrying cannot help (bad config, auth failure, missing image capability).
 */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../common/error-types';

export { ErrorTypes };

export function fatal(type: keyof typeof ErrorTypes, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    type: ErrorTypes[type],
    message,
    nonRetryable: true,
    details: details === undefined ? undefined : [details],
  });
}

export function notReady(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: ErrorTypes.NotReady, message, nonRetryable: false });
}

/** SQLSTATE classes that retrying will not fix. */
const FATAL_SQLSTATES: Record<string, keyof typeof ErrorTypes> = {
  '28P01': 'Auth', // invalid_password
  '28000': 'Auth', // invalid_authorization_specification (pg_hba rejected)
  '42501': 'Auth', // insufficient_privilege
  '3D000': 'BadConfig', // invalid_catalog_name (database does not exist)
  '42601': 'Invariant', // syntax_error: a bug, not a transient state
  '08P01': 'BadConfig', // protocol_violation, e.g. PgBouncer refusing a startup parameter
};

/** Maps a pg / network error to an ApplicationFailure with the right retryability. */
export function classifyPgError(err: unknown, context: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = err as { code?: string; message?: string };
  const message = `${context}: ${e.message ?? String(err)}`;
  const fatalType = e.code ? FATAL_SQLSTATES[e.code] : undefined;
  if (fatalType) return fatal(fatalType, message);
  return ApplicationFailure.create({ type: ErrorTypes.NotReady, message, nonRetryable: false });
}
