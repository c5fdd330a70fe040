/**
 * Crash recovery: the `citusctl up` process (CLI + in-process worker) is SIGKILLed at several
 * points of the setup; a rerun must attach to the setup in flight and reach the same end state
 * with exactly-once effects (exact row count, no duplicate pg_dist_node rows, one slot per standby,
 * standbys streaming). One fresh cluster (and embedded Temporal server) per kill point.
 * A rerun waits for the killed activity's heartbeat timeout (10-15 s) before its retry: expected.
 */
import { describe, expect, it, jest } from '@jest/globals';
import {
  citusVersion,
  destroyCluster,
  labelledObjects,
  layout,
  logCitus,
  makeCluster,
  sleep,
  startCli,
  su,
  topology,
  upJson,
  type CliResult,
  type TestCluster,
} from './support/cluster';
import { assertEndState, coordinatorRows, distNodes } from './support/end-state';

jest.setTimeout(10 * 60_000);

let citusLogged = false;

/** Runs `citusctl up` (human output), waits for a progress line, optionally waits more, SIGKILLs it. */
async function killUpAt(c: TestCluster, line: RegExp, beforeKill?: () => Promise<void>): Promise<CliResult> {
  const run = startCli(['up', '-c', c.specFile], c.env);
  try {
    await run.waitForLine(line);
    if (beforeKill) await beforeKill();
  } finally {
    run.child.kill('SIGKILL');
  }
  const r = await run.done;
  expect(r.signal).toBe('SIGKILL'); // it was still running: the kill interrupted the setup
  return r;
}

/** Rerun after the kill: attaches to the setup in flight and converges. */
async function rerunAndAssert(c: TestCluster): Promise<void> {
  const report = await upJson(c);
  expect(report.ok).toBe(true);
  expect(report.attached).toBe(true);
  expect(report.result.demoRowsThroughPgBouncer).toBe(c.spec.demo.rows);
  if (!citusLogged) {
    logCitus(await citusVersion(c), `cluster ${c.name}`);
    citusLogged = true;
  }
  await assertEndState(c);
  // Exactly once: ids 1..N, each once (also the primary key, but checked, not assumed).
  const ids = await su(
    c,
    topology(c).coordinator,
    async (cl) =>
      (
        await cl.query<{ n: string; d: string; lo: string | null; hi: string | null }>(
          'SELECT count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo, max(id) AS hi ' +
            `FROM public."${c.spec.demo.table}"`,
        )
      ).rows[0]!,
  );
  expect({ n: Number(ids.n), distinct: Number(ids.d), lo: Number(ids.lo), hi: Number(ids.hi) }).toEqual({
    n: c.spec.demo.rows,
    distinct: c.spec.demo.rows,
    lo: 1,
    hi: c.spec.demo.rows,
  });
}

async function withCluster(
  name: string,
  basePort: number,
  temporalPort: number,
  rows: number,
  fn: (c: TestCluster) => Promise<void>,
): Promise<void> {
  const c = makeCluster(layout({ name, basePort, temporalPort, rows, shardCount: 8 }), temporalPort);
  try {
    await fn(c);
  } finally {
    await destroyCluster(c);
  }
}

describe('citusctl up survives being killed', () => {
  it('after provisioning (✔ provision)', async () => {
    await withCluster('it-crash-prov', 31100, 32241, 5_000, async (c) => {
      await killUpAt(c, /^✔ provision\s/);
      const objs = await labelledObjects(c.name);
      // PgBouncer, etcd and the backup container: provisioned before the kill
      expect(objs.containers).toHaveLength(c.spec.members.length + 3);
      await rerunAndAssert(c);
    });
  });

  it('after worker registration (✔ registration)', async () => {
    await withCluster('it-crash-reg', 31120, 32242, 5_000, async (c) => {
      await killUpAt(c, /^✔ registration\s/);
      const nodes = await distNodes(c);
      expect(
        nodes
          .filter((n) => n.groupid !== 0)
          .map((n) => n.nodename)
          .sort(),
      ).toEqual(
        topology(c)
          .workers.map((w) => w.primary)
          .sort(),
      );
      await rerunAndAssert(c);
      // the same rows, not re-added
      expect((await distNodes(c)).map((n) => n.nodeid)).toEqual(nodes.map((n) => n.nodeid));
    });
  });

  it('during the data load (… data-load running, some rows in)', async () => {
    const rows = 3_000_000;
    await withCluster('it-crash-load', 31140, 32243, rows, async (c) => {
      await killUpAt(c, /^… data-load\s+running/, async () => {
        // Let the load get going: kill only once some rows are committed.
        for (;;) {
          const n = await coordinatorRows(c).catch(() => 0);
          if (n > 0) return;
          await sleep(200);
        }
      });
      await sleep(1000); // a batch whose client died may still commit
      const partial = await coordinatorRows(c);
      console.log(`[crash during data-load] ${partial} of ${rows} rows committed when the setup was killed`);
      expect(partial).toBeGreaterThan(0);
      expect(partial).toBeLessThan(rows);
      await rerunAndAssert(c);
    });
  });

  it('during standby follow (… standby-follow running)', async () => {
    await withCluster('it-crash-follow', 31160, 32244, 5_000, async (c) => {
      await killUpAt(c, /^… standby-follow\s+running/);
      await rerunAndAssert(c);
    });
  });
});
