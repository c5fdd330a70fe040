/**
 * Concurrency helpers that never leave work running behind a failure: a connection is closed only
 * once every query on it has ended, and no rejection is left unobserved (it would end the worker).
 */

/** Every promise settled, then their values; else the first failure (in order). */
export async function settledAll<T extends readonly unknown[]>(
  promises: readonly [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const settled: PromiseSettledResult<unknown>[] = await Promise.allSettled(promises);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/**
 * A scoped resource: `scope(use)` opens it, runs `use` with it and closes it when `use` settles
 * (pg's withClient, asSuperuser).
 */
export type Scoped<R> = (use: (resource: R) => Promise<void>) => Promise<unknown>;

/**
 * Opens every scoped resource at once (not one inside the other), runs fn with all of them, and
 * closes them all once fn settles. One that cannot be opened fails the call, after the others are
 * closed; a failure of a resource after it opened is fn's to see (through its own calls on it).
 */
export async function withAll<R, T>(scopes: readonly Scoped<R>[], fn: (resources: R[]) => Promise<T>): Promise<T> {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  const closed: Promise<unknown>[] = [];
  const opening = scopes.map(
    (scope) =>
      new Promise<R>((resolve, reject) => {
        const use = scope(async (resource) => {
          resolve(resource);
          await done;
        });
        use.catch(reject); // rejects the opening only before it resolved
        closed.push(use.catch(() => undefined));
      }),
  );
  try {
    return await fn(await settledAll(opening));
  } finally {
    release();
    await Promise.all(closed);
  }
}
