/**
 * `citusctl down --volumes` while `citusctl up` is still setting the cluster up: the setup workflow
 * is cancelled (terminated if it does not close in time) before anything is removed, so nothing is
 * left retrying against removed containers; then no container, network or volume of the cluster
 * remains. Also: down on a state directory whose Temporal server never ran still removes and says so.
 * Ports 31600-31699; embedded Temporal on 31690 (UI 32690).
 */
import { describe, expect, it, jest } from '@jest/globals';
import { Client, Connection } from '@temporalio/client';
import {
  describeRun,
  destroyCluster,
  labelledObjects,
  layout,
  makeCluster,
  runCli,
  startCli,
  type TestCluster,
} from './support/cluster';

jest.setTimeout(10 * 60_000);

const TEMPORAL_PORT = 31690;

/** Every workflow execution (any status) whose id is one of the cluster's, with its status now. */
async function clusterWorkflows(c: TestCluster): Promise<{ id: string; status: string }[]> {
  const connection = await Connection.connect({ address: `127.0.0.1:${c.temporalPort}` });
  try {
    const client = new Client({ connection });
    const out: { id: string; status: string }[] = [];
    const query = ['setup', 'failover', 'switchover', 'rejoin']
      .map((k) => `WorkflowId STARTS_WITH "${k}-${c.name}"`)
      .join(' OR ');
    for await (const w of client.workflow.list({ query })) {
      // Visibility may lag; describe() is the authoritative status.
      const d = await client.workflow.getHandle(w.workflowId, w.runId).describe();
      out.push({ id: w.workflowId, status: d.status.name });
    }
    return out;
  } finally {
    await connection.close();
  }
}

describe('citusctl down', () => {
  it('during a running setup: cancels the setup workflow, then leaves no container, network or volume', async () => {
    const c = makeCluster(
      layout({ name: 'it-down', basePort: 31600, temporalPort: TEMPORAL_PORT, rows: 200_000, shardCount: 8 }),
      TEMPORAL_PORT,
    );
    const upRun = startCli(['up', '-c', c.specFile], c.env);
    try {
      await upRun.waitForLine(/^✔ provision\s/); // containers exist, the setup workflow is running
      expect((await clusterWorkflows(c)).filter((w) => w.status === 'RUNNING').map((w) => w.id)).toEqual([
        `setup-${c.name}`,
      ]);

      // --backups: the repository volume too (`down --volumes` alone keeps it: verify-backup.test.ts).
      const down = await runCli(['down', '--volumes', '--backups', '--json', '-c', c.specFile], c.env, 180_000);
      expect(down.code).toBe(0);
      const report = JSON.parse(down.stdout) as {
        ok: boolean;
        workflows: { reachable: boolean; cancelled?: string[]; terminated?: string[] };
        removedContainers: string[];
      };
      expect(report.ok).toBe(true);
      expect(report.workflows.reachable).toBe(true);
      expect(report.workflows.cancelled).toContain(`setup-${c.name}`);
      expect(report.removedContainers.length).toBeGreaterThanOrEqual(c.spec.members.length + 2);

      // Nothing of the cluster runs in Temporal any more, and nothing of it is left in Docker.
      const workflows = await clusterWorkflows(c);
      expect(workflows.map((w) => w.id)).toContain(`setup-${c.name}`);
      expect(workflows.filter((w) => w.status === 'RUNNING')).toEqual([]);
      expect(workflows.find((w) => w.id === `setup-${c.name}`)!.status).toMatch(/^(CANCELLED|TERMINATED)$/);
      expect(await labelledObjects(c.name)).toEqual({ containers: [], networks: [], volumes: [] });

      // The `up` that was following the setup ends, reporting the cancellation (not a success).
      const up = await upRun.done;
      expect({ code: up.code, signal: up.signal }).toEqual({ code: 1, signal: null });
      expect(up.stderr + up.stdout).toMatch(/cancel|terminat/i);
      // still nothing, after up's worker stopped
      expect(await labelledObjects(c.name)).toEqual({ containers: [], networks: [], volumes: [] });
    } catch (err) {
      upRun.child.kill('SIGKILL');
      const r = await upRun.done;
      throw new Error(`${(err as Error).message}\n[up] ${describeRun(r)}`);
    } finally {
      await destroyCluster(c);
    }
  });

  it('with no Temporal server for the state directory: removes the cluster, says nothing was cancelled', async () => {
    const c = makeCluster(
      layout({
        name: 'it-down-none',
        basePort: 31650,
        temporalPort: TEMPORAL_PORT + 1,
        rows: 100,
        workers: ['g1'],
        coordinatorStandby: false,
      }),
      TEMPORAL_PORT + 1,
    );
    try {
      const r = await runCli(['down', '--volumes', '--json', '-c', c.specFile], c.env, 60_000);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as { ok: boolean; workflows: { reachable: boolean; reason?: string } };
      expect(report.ok).toBe(true);
      expect(report.workflows.reachable).toBe(false);
      expect(r.stderr).toMatch(/Temporal not reachable .*no workflow to cancel/);
    } finally {
      await destroyCluster(c);
    }
  });
});
