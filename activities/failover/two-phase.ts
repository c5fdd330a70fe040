/**
 * Resolves the transactions a failed worker primary left PREPAREd (in doubt) on its promoted
 * standby, right after Citus points at it: until then their row locks block every transaction on
 * those rows, and Citus's maintenance daemon resolves them only every citus.recover_2pc_interval.
 * Idempotent: asking Citus to recover twice changes nothing the second time.
 */
import type { ClusterSpec } from '../../common/spec';
import { recoverPreparedTransactions, stillPrepared } from '../../lib/postgres';
import type { ActivityDeps } from '../deps';
import { classifyPgError } from '../../lib/errors';
import { asSuperuser } from '../members/superuser';
import { sleep, withHeartbeat } from '../heartbeat';

export interface InDoubtInput {
  spec: ClusterSpec;
  /** Where Citus's coordinator runs now (the new primary, after a coordinator failover). */
  coordinator: string;
  /** The promoted member, and the global ids PREPAREd on it at its promotion. */
  member: string;
  gids: string[];
  /**
   * How long to keep asking while Citus skips one whose distributed transaction is still in progress (default 10 s).
   */
  timeoutMs?: number;
}

export interface InDoubtResult {
  /** What recover_prepared_transactions() reported, over every call. */
  recovered: number;
  /** Of `gids`, those still PREPAREd at the end (the maintenance daemon resolves them later). */
  remaining: string[];
  /** recover_prepared_transactions() does not exist on this image (not Citus). */
  unsupported?: boolean;
}

const UNDEFINED_FUNCTION = '42883';

export function createTwoPhaseActivities(deps: ActivityDeps) {
  async function resolveInDoubtTransactions(input: InDoubtInput): Promise<InDoubtResult> {
    const { spec } = input;
    const deadline = Date.now() + (input.timeoutMs ?? 10_000);
    return withHeartbeat(async () => {
      let recovered = 0;
      try {
        for (;;) {
          recovered += await asSuperuser(deps, spec, input.coordinator, recoverPreparedTransactions);
          const remaining = await asSuperuser(deps, spec, input.member, (c) => stillPrepared(c, input.gids));
          if (!remaining.length || Date.now() >= deadline) return { recovered, remaining };
          await sleep(200);
        }
      } catch (err) {
        if ((err as { code?: string }).code === UNDEFINED_FUNCTION)
          return { recovered, remaining: input.gids, unsupported: true };
        throw classifyPgError(err, `resolving in-doubt transactions on ${input.member}`);
      }
    });
  }

  return { resolveInDoubtTransactions };
}
