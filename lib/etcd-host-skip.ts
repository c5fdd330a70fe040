/**
 * With several etcd members, a member that does not answer is skipped for a while. etcd3 picks a
 * member per call at random and, after a failure, closes that member's channel (resetAllServices),
 * so the next call that lands on a dead member opens a new connection and waits for it: about 3 s
 * for an address gone from the network, up to the call's deadline otherwise. Measured on three
 * simulated hosts with one dead: a failover's etcd calls (lock renewals, the primary's record) took
 * 3-5 s each, most of a 30 s outage. This policy, per member, fails a call at once (gRPC
 * UNAVAILABLE, which etcd3 takes as "try the next member") while the member is skipped: 2 s after a
 * failure, doubling with each failure in a row up to 30 s; any success ends it. It holds no call
 * and never waits (etcd3's circuit breaker left calls pending forever, see etcd-auth.ts). While
 * every member is skipped (etcd was down as a whole) calls go through, so the first one after etcd
 * is back answers instead of the client failing for up to a whole skip. One member (the single-host
 * default) keeps no policy at all.
 */
import { noop, type IDefaultPolicyContext, type IPolicy } from 'cockatiel';
import { GRPCDeadlineExceededError, GRPCUnavailableError, isRecoverableError } from 'etcd3';

export const SKIP_BASE_MS = 2_000;
export const SKIP_MAX_MS = 30_000;

/** How long a member that failed `failures` calls in a row is skipped. */
export function skipForMs(failures: number): number {
  return failures <= 0 ? 0 : Math.min(SKIP_MAX_MS, SKIP_BASE_MS * 2 ** (failures - 1));
}

/** A call the member did not answer: unavailable (and the other errors etcd3 retries elsewhere), or out of time. */
const unanswered = (e: unknown) =>
  e instanceof GRPCDeadlineExceededError || (e instanceof Error && isRecoverableError(e));

/** Until when each member of one client is skipped (shared by its members' policies). */
export interface SkipBoard {
  members: readonly string[];
  until: Map<string, number>;
  /** Members whose port did not answer the reach probe lately (etcd-reach-probe.ts): until when. */
  unreachable: Map<string, number>;
  /** Told of every call (the reach probe runs while the client is in use). */
  onCall?: () => void;
  /** Calls in flight, per member, told when the reach probe finds that member's port gone. */
  inFlight: Map<string, Set<() => void>>;
}

export const skipBoard = (members: readonly string[]): SkipBoard => ({
  members,
  until: new Map(),
  unreachable: new Map(),
  inFlight: new Map(),
});

/** Marks `member` unreachable until `until` and ends the calls in flight on it (they would wait for their deadline). */
export function markUnreachable(board: SkipBoard, member: string, until: number): void {
  board.unreachable.set(member, until);
  for (const end of board.inFlight.get(member) ?? []) end();
}

/**
 * The call, unless the reach probe finds its member's port gone first: then it fails at once as
 * unavailable, which etcd3's failover takes to the next member (the same as a call refused there).
 * Its answer, if one ever comes, is dropped.
 */
function abandonedIfUnreachable<T>(call: Promise<T>, board: SkipBoard | undefined, member: string): Promise<T> {
  if (!board) return call;
  const calls = board.inFlight.get(member) ?? new Set<() => void>();
  board.inFlight.set(member, calls);
  let end: () => void = () => undefined;
  const gone = new Promise<never>((_, reject) => {
    end = () => reject(new GRPCUnavailableError(`etcd member ${member} unavailable: its port stopped answering`));
  });
  calls.add(end);
  return Promise.race([call, gone]).finally(() => calls.delete(end));
}

/** Until when `member` is skipped: the later of its unanswered calls' skip and its reach probe's. */
const skippedUntil = (board: SkipBoard, member: string) =>
  Math.max(board.until.get(member) ?? 0, board.unreachable.get(member) ?? 0);

export function skipWhileUnanswered(
  member: string,
  now: () => number = Date.now,
  /** The client's other members' skips: while all are skipped, calls go through. */
  board?: SkipBoard,
): IPolicy<IDefaultPolicyContext> {
  let failures = 0;
  let until = 0;
  const everySkipped = () => !!board && board.members.every((m) => skippedUntil(board, m) > now());
  return {
    _altReturn: undefined as never,
    onSuccess: noop.onSuccess,
    onFailure: noop.onFailure,
    async execute<T>(fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
      board?.onCall?.();
      const unreachable = board?.unreachable.get(member) ?? 0;
      if (now() < Math.max(until, unreachable) && !everySkipped())
        throw new GRPCUnavailableError(
          `etcd member ${member} unavailable: skipped for ${Math.max(until, unreachable) - now()} ms more, ` +
            (now() < until ? `${failures} call(s) in a row unanswered` : 'its port does not answer'),
        );
      try {
        const r = await abandonedIfUnreachable(
          Promise.resolve(fn({ signal: signal ?? new AbortController().signal })),
          board,
          member,
        );
        failures = 0;
        until = 0;
        board?.until.delete(member);
        return r;
      } catch (err) {
        if (unanswered(err)) {
          failures++;
          until = now() + skipForMs(failures);
          board?.until.set(member, until);
        }
        throw err;
      }
    },
  };
}
