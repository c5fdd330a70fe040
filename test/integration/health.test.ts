/**
 * The health check on real containers, a real etcd and a real Temporal server. `citusctl up` starts
 * the cluster, the supervised worker and the monitor; then:
 *  - `citusctl health --json` on the healthy cluster exits 0 and the report is in etcd;
 *  - with the monitor paused (else it restarts the standby at once), `docker stop` of the g1 standby:
 *    `citusctl health` exits 1 and names g1-b (JSON and text);
 *  - ensureHealthSchedule makes `health-it-health` (idempotently), a trigger runs healthCheck on the
 *    supervised worker (shared task queue) to completion, and `citusctl down` deletes the schedule.
 * Ports 31500-31520; embedded Temporal on 32500.
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { spawnSync } from 'node:child_process';
import { ensureHealthSchedule } from '../../client/health-schedule';
import { healthReportKey } from '../../common/etcd-keys';
import type { HealthCheckResult } from '../../workflows';
import { describeRun, layout, makeCluster, runCli, withEtcd, withMonitor } from './support/cluster';
import { upClusterForFile } from './support/up-cluster';
import { cliJson, containerOf, memberLogTails, waitFor } from './support/failover';

jest.setTimeout(10 * 60_000);

// The monitor and its supervised worker run (tests opt in): the report
// includes the monitor, the schedule's runs need a long-lived worker.
const c = withMonitor(
  makeCluster(
    layout({
      name: 'it-health',
      basePort: 31500,
      temporalPort: 32500,
      rows: 100,
      shardCount: 4,
      coordinatorStandby: false,
      workers: ['g1'],
    }),
    32500,
  ),
);
type HealthJson = HealthCheckResult & { ok: boolean; workflowId: string; runId: string };

/** `citusctl health [--json]`: exit code and, with --json, the one document it printed. */
async function health(json: boolean): Promise<{ code: number | null; doc?: HealthJson; text: string; run: string }> {
  const r = await runCli(['health', ...(json ? ['--json'] : []), '-c', c.specFile], c.env, 180_000);
  let doc: HealthJson | undefined;
  if (json) {
    try {
      doc = JSON.parse(r.stdout) as HealthJson;
    } catch {
      throw new Error(`citusctl health --json printed no single JSON document: ${describeRun(r)}`);
    }
  }
  return { code: r.code, doc, text: r.stdout, run: describeRun(r) };
}

describe('citusctl health and the health-<cluster> schedule', () => {
  // The monitor is part of the report: a monitor that has not probed yet is a problem.
  const t = upClusterForFile(c, {
    ready: { what: 'the monitor to probe', until: async (t) => (await t.status()).lastProbeAt },
  });

  it('a healthy cluster: exit 0, every member reported, the report stored in etcd', async () => {
    const h = await health(true);
    if (h.code !== 0) throw new Error(`expected exit 0: ${h.run}\n${await memberLogTails(c)}`);
    const r = h.doc!;
    expect(r).toMatchObject({
      ok: true,
      cluster: c.name,
      status: 'healthy',
      problems: [],
      stored: { ok: true, key: healthReportKey(c.name) },
    });
    expect(r.members.map((m) => [m.name, m.role, m.container])).toEqual([
      ['coord-a', 'primary', 'running'],
      ['g1-a', 'primary', 'running'],
      ['g1-b', 'standby', 'running'],
    ]);
    expect(r.members.find((m) => m.name === 'g1-b')).toMatchObject({
      streaming: true,
      slot: 'citusctl_g1_b',
      lagBytes: expect.any(Number),
      slotRetainedBytes: expect.any(Number),
      disk: { ok: true, usedBytes: expect.any(Number) },
    });
    expect(r.monitor).toMatchObject({
      workflowId: `monitor-${c.name}`,
      status: 'RUNNING',
      view: { maintenance: { cluster: false, groups: [] } },
    });
    expect(r.pgbouncer).toMatchObject({ ok: true, database: { host: 'coord-a', paused: false } });
    expect(r.etcd).toMatchObject({ ok: true, primaries: { coordinator: 'coord-a', g1: 'g1-a' }, alarms: [] });
    expect(r.citus).toMatchObject({ ok: true, coordinator: 'coord-a', nodeHealth: { available: true } });
    const nodeHealth = r.citus.ok && r.citus.nodeHealth.available ? r.citus.nodeHealth.rows : [];
    expect(nodeHealth.map((x) => `${x.from}->${x.to}:${x.result}`).sort()).toEqual([
      'coord-a->coord-a:true',
      'coord-a->g1-a:true',
      'g1-a->coord-a:true',
      'g1-a->g1-a:true',
    ]);
    const stored = JSON.parse(
      (await withEtcd(c, (e) => e.get(healthReportKey(c.name)).string())) ?? '{}',
    ) as HealthCheckResult;
    expect(stored).toMatchObject({ cluster: c.name, at: r.at, status: 'healthy' });
    expect(JSON.stringify(stored)).not.toMatch(/password/i);
  });

  it('docker stop of the g1 standby (monitor paused): exit 1, naming g1-b', async () => {
    await cliJson(c, ['pause', '--reason', 'health test']);
    const stop = spawnSync('docker', ['stop', containerOf(c, 'g1-b')], { encoding: 'utf8', timeout: 60_000 });
    expect(stop.status).toBe(0);
    const h = await health(true);
    expect({ code: h.code, problems: h.doc?.problems }).toMatchObject({
      code: 1,
      problems: expect.arrayContaining([{ component: 'member', subject: 'g1-b', message: 'container exited' }]),
    });
    expect(h.doc).toMatchObject({ ok: false, status: 'degraded' });
    expect(h.doc!.notes).toEqual(
      expect.arrayContaining([expect.stringMatching(/^monitor: maintenance \(whole cluster: health test\)/)]),
    );
    const text = await health(false);
    expect(text.code).toBe(1);
    expect(text.text).toMatch(/DEGRADED/);
    expect(text.text).toMatch(/- g1-b: container exited/);
    console.log(`[health] citusctl health, g1-b stopped:\n${text.text}`);
    await cliJson(c, ['resume']); // the monitor restarts g1-b
  });

  it(
    'the schedule health-it-health: ensured idempotently, a trigger runs healthCheck to the end; `citusctl down` ' +
      'deletes it',
    async () => {
      const first = await ensureHealthSchedule(t.client, c.spec);
      // `up` made it already, with the spec as it resolved it (images filled in): this call brings it to c.spec.
      expect(['created', 'updated', 'unchanged']).toContain(first.outcome);
      expect(await ensureHealthSchedule(t.client, c.spec)).toEqual({
        scheduleId: `health-${c.name}`,
        outcome: 'unchanged',
      });
      const handle = t.client.schedule.getHandle(`health-${c.name}`);
      const d = await handle.describe();
      expect(d.spec.intervals?.map((i) => i.every)).toEqual([60_000]);
      expect(d.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
      const before = d.info.recentActions.length;

      await handle.trigger();
      const action = await waitFor(
        'the triggered run',
        async () => (await handle.describe()).info.recentActions[before]?.action.workflow,
        60_000,
        250,
      );
      expect(action.workflowId).toMatch(/^health-it-health-/);
      const result = (await t.client.workflow
        .getHandle(action.workflowId, action.firstExecutionRunId)
        .result()) as HealthCheckResult;
      expect(result).toMatchObject({ cluster: c.name, stored: { ok: true } });
      expect(result.members.map((m) => m.name)).toEqual(['coord-a', 'g1-a', 'g1-b']);

      const down = await runCli(['down', '--json', '-c', c.specFile], c.env, 180_000);
      expect(down.code).toBe(0);
      await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    },
  );
});
