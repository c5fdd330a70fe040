/** Bounded waits for observations: a part that does not answer in time is reported, not waited for. */

export const errMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Resolves with p's value, or rejects after ms (p keeps running and settles unobserved). */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  p.catch(() => undefined);
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
