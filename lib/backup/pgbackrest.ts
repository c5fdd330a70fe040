/**
 * Running pgBackRest in a container (docker exec, as postgres) and reading its JSON `info`.
 * Its exit codes say what went wrong; a lock held by another pgBackRest process (50), a server
 * not answering yet, or a run killed with its container is worth a retry, anything else is not.
 */
import type Docker from 'dockerode';
import { ErrorTypes } from '../../common/error-types';
import { ApplicationFailure } from '@temporalio/common';
import { execIn, type ExecResult } from '../docker/docker-helpers';
import { PGBACKREST_CONF } from './pgbackrest-config';
import { pgbackrestErrorSummary } from './pgbackrest-output';

/** pgBackRest exit codes worth retrying: lock held (50), connection/host errors (e.g. 56 db-connect, 87, 82). */
const RETRYABLE_EXIT_CODES = new Set([50, 56, 82, 87]);

export class PgbackrestError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number,
    readonly output: string,
  ) {
    super(`pgbackrest ${command} failed (exit ${exitCode}): ${pgbackrestErrorSummary(output)}`);
  }
}

export async function runPgbackrest(docker: Docker, container: string, args: readonly string[]): Promise<ExecResult> {
  const r = await execIn(docker, container, ['pgbackrest', `--config=${PGBACKREST_CONF}`, ...args], 'postgres');
  if (r.exitCode !== 0)
    throw new PgbackrestError(args.filter((a) => !a.startsWith('--')).join(' '), r.exitCode, r.stderr + r.stdout);
  return r;
}

/**
 * An exit status above 128 is no pgBackRest exit code: its process was killed by a signal (128 + the
 * signal), as when its container is killed or stopped under it (a failover's `docker kill`, an OOM
 * kill). Docker may report the exec's end before the container's state changes, so this, not the
 * container's state, tells a killed run from a refused one.
 */
export const killedBySignal = (exitCode: number): number | undefined => (exitCode > 128 ? exitCode - 128 : undefined);

/** A PgbackrestError as a Temporal failure with the right retryability. */
export function classifyPgbackrestError(err: unknown, context: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof PgbackrestError) {
    const signal = killedBySignal(err.exitCode);
    if (signal !== undefined)
      return ApplicationFailure.create({
        type: ErrorTypes.NotReady,
        message: `${context}: ${err.message} (killed by signal ${signal}: its container was stopped or killed)`,
      });
    return ApplicationFailure.create({
      type: RETRYABLE_EXIT_CODES.has(err.exitCode) ? ErrorTypes.NotReady : ErrorTypes.BadConfig,
      message: `${context}: ${err.message}`,
      nonRetryable: !RETRYABLE_EXIT_CODES.has(err.exitCode),
    });
  }
  return ApplicationFailure.create({
    type: ErrorTypes.NotReady,
    message: `${context}: ${err instanceof Error ? err.message : String(err)}`,
  });
}

/** The part of `pgbackrest info --output=json` citusctl reads (one entry per stanza). */
export interface StanzaInfo {
  name: string;
  status: {
    code: number;
    message: string;
    /** A backup in progress holds the lock; size-cplt/size say how far it is. */
    lock?: { backup?: { held: boolean; size?: number; 'size-cplt'?: number } };
  };
  backup: {
    label: string;
    type: 'full' | 'diff' | 'incr';
    error?: boolean;
    timestamp: { start: number; stop: number };
    lsn?: { start: string; stop: string };
    archive: { start: string | null; stop: string | null };
    info: { size: number; delta: number; repository: { size: number; delta: number } };
    annotation?: Record<string, string>;
  }[];
  archive: { id: string; min: string | null; max: string | null }[];
}

export async function stanzaInfo(docker: Docker, container: string, stanza?: string): Promise<StanzaInfo[]> {
  const r = await runPgbackrest(docker, container, [
    ...(stanza ? [`--stanza=${stanza}`] : []),
    '--output=json',
    'info',
  ]);
  return JSON.parse(r.stdout) as StanzaInfo[];
}
