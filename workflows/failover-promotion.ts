/**
 * The failover's promotion, and what follows when its answer never comes. The promote request may
 * have gone through before the connection dropped, so the old primary is un-fenced only when no
 * other member is, or may be, writable (the un-fence activity refuses otherwise: a member it cannot
 * reach counts as possibly promoted). A refusal ends the failover `needs-operator` with the old
 * primary still fenced: never two writable primaries.
 */
import { isCancellation } from '@temporalio/workflow';
import { ErrorTypes } from '../common/error-types';
import { afterFailedPromotion, needsOperatorDetail } from '../common/failover-decisions';
import type { ProgressTracker } from '../common/progress';
import type { ClusterSpec } from '../common/spec';
import { errorMessage } from '../common/error-message';
import { critical } from './activity-proxies';
import { forContainer, neverStarted } from './host-routing';

export interface PromotionInput {
  spec: ClusterSpec;
  owner: string;
  group: string;
  oldPrimary: string;
  candidate: string;
  /** Every member of the group but the old primary (the candidate among them). */
  standbys: string[];
  assertHeld: () => Promise<void>;
}

export type Promotion =
  /** inDoubt: the transactions PREPAREd on the candidate at its promotion (left by the old primary). */
  | { outcome: 'promoted'; detail: string; inDoubt: string[] }
  | { outcome: 'no-candidate'; reason: string; detail: string }
  | { outcome: 'needs-operator'; detail: string };

const failureType = (err: unknown) => (err as { cause?: { type?: string } })?.cause?.type;

export async function promoteOrSettle(p: PromotionInput): Promise<Promotion> {
  const { spec, owner, oldPrimary, candidate } = p;
  const promote = () => critical.promoteStandby({ spec, member: candidate, reason: `promoted by ${owner}` });
  let why: string;
  try {
    const { inDoubt } = await promote();
    return { outcome: 'promoted', detail: candidate, inDoubt };
  } catch (err) {
    why = errorMessage(err);
  }

  const next = afterFailedPromotion(candidate, await critical.standbyPositions({ spec, members: p.standbys }));
  if (next.action === 'adopt') {
    // Promoted after all: record it (the promote is a no-op on a member out of recovery) and go on.
    try {
      await p.assertHeld();
      const { inDoubt } = await promote();
      return { outcome: 'promoted', detail: `${candidate} (${next.reason})`, inDoubt };
    } catch (err) {
      if (failureType(err) === ErrorTypes.LockLost) throw err;
      why = errorMessage(err);
    }
  }

  // Right before the un-fence: a lost lock means someone else may be promoting.
  await p.assertHeld();
  try {
    // On the old primary's host (its container is there); one that does not answer cannot un-fence it.
    await forContainer(spec, oldPrimary).acts.unfencePrimary({ spec, member: oldPrimary, others: p.standbys });
  } catch (err) {
    const silent = neverStarted(err);
    if (!silent && failureType(err) !== ErrorTypes.Refused) throw err;
    const refusal = silent
      ? `the host of ${oldPrimary} does not answer`
      : errorMessage(err).replace(/^cannot unfence [^:]+: /, '');
    const detail = needsOperatorDetail(
      p.group,
      oldPrimary,
      candidate,
      `${candidate} could not be promoted (${why}) and ${refusal}`,
    );
    return { outcome: 'needs-operator', detail };
  }
  return {
    outcome: 'no-candidate',
    reason: `${candidate} could not be promoted: ${why}`,
    detail: `${candidate} could not be promoted; ${oldPrimary} unfenced`,
  };
}

/** The in-doubt step's progress line. */
function describeInDoubt(r: { recovered: number; remaining: string[]; unsupported?: boolean }): string {
  if (r.unsupported) return 'recover_prepared_transactions() is not available on this image';
  const left = r.remaining.length
    ? `; still prepared: ${r.remaining.join(', ')} (Citus's maintenance daemon resolves them)`
    : '';
  return `${r.recovered} resolved by Citus${left}`;
}

/**
 * Step `in-doubt`, once Citus points at the new primary: Citus resolves what the old primary left
 * PREPAREd. Best effort: the group has failed over already, and a failure here (shown in the step)
 * only leaves them to Citus's maintenance daemon (citus.recover_2pc_interval).
 */
export async function resolveInDoubt(
  progress: ProgressTracker,
  input: { spec: ClusterSpec; coordinator: string; member: string; gids: string[] },
): Promise<void> {
  try {
    await progress.run('in-doubt', () => critical.resolveInDoubtTransactions(input), describeInDoubt);
  } catch (err) {
    if (isCancellation(err)) throw err;
  }
}
