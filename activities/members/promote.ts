/**
 * Promotes the member (lib/postgres promoteStandby), unless it is already out of recovery; records
 * it primary. `inDoubt`: the transactions PREPAREd on it by then, before Citus points at it: what
 * the old primary left between PREPARE and COMMIT PREPARED (resolveInDoubtTransactions).
 */
import type { ClusterSpec } from '../../common/spec';
import { classifyPgError, notReady } from '../../lib/errors';
import { PromotionTimeout, preparedTransactionIds, promoteStandby as promoteNode } from '../../lib/postgres';
import type { ActivityDeps } from '../deps';
import { setMemberState } from './state';
import { asSuperuser } from './superuser';

export async function promoteStandby(
  deps: ActivityDeps,
  input: { spec: ClusterSpec; member: string; reason?: string },
): Promise<{ promoted: boolean; inDoubt: string[] }> {
  try {
    // Clears a stale synchronous_standby_names, replays what was received, promotes, waits.
    const result = await asSuperuser(deps, input.spec, input.member, async (c) => ({
      ...(await promoteNode(c)),
      inDoubt: await preparedTransactionIds(c),
    }));
    await setMemberState(deps, {
      spec: input.spec,
      member: input.member,
      state: { state: 'primary', at: new Date().toISOString(), reason: input.reason ?? 'promoted by a failover' },
    });
    return result;
  } catch (err) {
    if (err instanceof PromotionTimeout) throw notReady(`${input.member} ${err.message}`);
    throw classifyPgError(err, `promoting ${input.member}`);
  }
}
