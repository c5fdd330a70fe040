/**
 * followWorkflow without a server: fake queries that record how many are in flight. The race with a
 * real Temporal connection is in test/workflow/follow-race.test.ts.
 */
import { followWorkflow } from '../../client/follow-workflow';

/** A query source: each call is recorded; `hang` calls settle only when their signal aborts. */
function fakeQueries(answer: (n: number) => 'answer' | 'fail' | 'hang') {
  let inFlight = 0;
  let maxInFlight = 0;
  let calls = 0;
  const onHang: (() => void)[] = [];
  let hangingNow = 0;
  const query = (signal: AbortSignal) => {
    const n = ++calls;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const done = () => inFlight--;
    const mode = answer(n);
    if (mode === 'answer') return Promise.resolve(n).finally(done);
    if (mode === 'fail') return Promise.reject(new Error(`query ${n} failed`)).finally(done);
    hangingNow++;
    return new Promise<number>((_, reject) => {
      // settles a little after the abort, like a gRPC cancel
      signal.addEventListener('abort', () => setTimeout(() => reject(new Error('cancelled')), 20));
      onHang.splice(0).forEach((f) => f());
    }).finally(() => {
      hangingNow--;
      done();
    });
  };
  return {
    query,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get calls() {
      return calls;
    },
    /** Resolves once a hanging query has started. */
    hanging: () => new Promise<void>((r) => (hangingNow > 0 ? r() : onHang.push(r))),
  };
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('followWorkflow', () => {
  test('polls one query at a time, reports progress, returns the result with the final progress', async () => {
    const q = fakeQueries(() => 'answer');
    const result = deferred<string>();
    const seen: number[] = [];
    const following = followWorkflow({
      result: () => result.promise,
      query: q.query,
      onProgress: (p) => seen.push(p),
      intervalMs: 1,
    });
    while (q.calls < 5) await new Promise((r) => setTimeout(r, 5));
    result.resolve('done');
    const followed = await following;
    expect(followed.result).toBe('done');
    expect(q.maxInFlight).toBe(1);
    expect(q.inFlight).toBe(0);
    expect(followed.last).toBe(q.calls); // the last answer is the one made after the result
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  test('a result carrying its final progress: no last query, that progress is the last one', async () => {
    const q = fakeQueries(() => 'answer');
    const result = deferred<{ progress: number }>();
    const seen: number[] = [];
    const following = followWorkflow({
      result: () => result.promise,
      query: q.query,
      onProgress: (p) => seen.push(p),
      intervalMs: 1,
      finalProgress: (r) => r.progress,
    });
    while (q.calls < 3) await new Promise((r) => setTimeout(r, 5));
    result.resolve({ progress: 1000 });
    const followed = await following;
    const calls = q.calls;
    await new Promise((r) => setTimeout(r, 20));
    expect(q.calls).toBe(calls); // nothing asked after the end
    expect(q.inFlight).toBe(0);
    expect(followed.last).toBe(1000);
    expect(seen.at(-1)).toBe(1000);
  });

  test('a result without it (finalProgress undefined): the last query is made as before', async () => {
    const q = fakeQueries(() => 'answer');
    const result = deferred<{ progress?: number }>();
    const following = followWorkflow({
      result: () => result.promise,
      query: q.query,
      onProgress: () => undefined,
      intervalMs: 1,
      finalProgress: (r) => r.progress,
    });
    while (q.calls < 2) await new Promise((r) => setTimeout(r, 5));
    result.resolve({});
    const followed = await following;
    expect(followed.last).toBe(q.calls);
  });

  test('a query in flight when the workflow completes is aborted and settled before followWorkflow ends', async () => {
    let hang = true;
    const q = fakeQueries(() => (hang ? 'hang' : 'answer'));
    const result = deferred<string>();
    const following = followWorkflow({
      result: () => result.promise,
      query: q.query,
      onProgress: () => undefined,
      intervalMs: 1,
    });
    await q.hanging();
    expect(q.inFlight).toBe(1);
    hang = false; // the final query answers
    result.resolve('done');
    const followed = await following;
    expect(q.inFlight).toBe(0);
    expect(followed).toEqual({ result: 'done', last: q.calls });
  });

  test('a failed workflow rethrows its error, with no query left in flight', async () => {
    const q = fakeQueries((n) => (n === 1 ? 'answer' : 'hang'));
    const result = deferred<string>();
    const following = followWorkflow({
      result: () => result.promise,
      query: q.query,
      onProgress: () => undefined,
      intervalMs: 1,
      finalQueryTimeoutMs: 10,
    });
    await q.hanging();
    result.reject(new Error('workflow failed'));
    await expect(following).rejects.toThrow('workflow failed');
    expect(q.inFlight).toBe(0);
  });

  test('failed queries are retried on the next round and never fail the follow', async () => {
    const q = fakeQueries((n) => (n % 2 ? 'fail' : 'answer'));
    const result = deferred<string>();
    const seen: number[] = [];
    const following = followWorkflow({
      result: () => result.promise,
      query: q.query,
      onProgress: (p) => seen.push(p),
      intervalMs: 1,
    });
    while (q.calls < 6) await new Promise((r) => setTimeout(r, 5));
    result.resolve('ok');
    expect((await following).result).toBe('ok');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((n) => n % 2 === 0)).toBe(true);
  });

  test('a final query that cannot be answered is abandoned after its bound, keeping the earlier progress', async () => {
    let finalPhase = false;
    const q = fakeQueries(() => (finalPhase ? 'hang' : 'answer'));
    const result = deferred<string>();
    const following = followWorkflow({
      result: () => result.promise,
      query: q.query,
      onProgress: () => undefined,
      intervalMs: 1,
      finalQueryTimeoutMs: 30,
    });
    while (q.calls < 2) await new Promise((r) => setTimeout(r, 5));
    finalPhase = true;
    result.resolve('ok');
    const followed = await following;
    expect(q.inFlight).toBe(0);
    expect(followed.result).toBe('ok');
    expect(typeof followed.last).toBe('number');
  });
});
