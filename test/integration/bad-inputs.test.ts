/**
 * Malformed inputs from the Temporal UI never wedge a workflow nor change the cluster. A cluster
 * set up by `citusctl up` (monitor and supervised worker running), then, from the Temporal CLI
 * against the cluster's embedded server, as a user pasting into the UI would:
 *  - failoverGroup with {} and with an unknown group, rejoinMemberWorkflow with {}, drainGroup with
 *    "transferMode":"x", setupCluster with no input at all, each under the id the CLI and the
 *    monitor use: every run ends Failed (BadConfig naming the field), none is left running;
 *  - Citus (pg_dist_node with shouldhaveshards), etcd and the containers are unchanged;
 *  - `citusctl status` names no stuck workflow; the monitor keeps running, and a worker primary
 *    killed right after is failed over by it.
 * Ports 31350-31358; embedded Temporal on 32351.
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { beforeAll, describe, expect, it, jest } from '@jest/globals';
import { containerName } from '../../common/topology';
import { describeRun, docker, layout, makeCluster, su, temporalOn, withEtcd, withMonitor } from './support/cluster';
import { upClusterForFile } from './support/up-cluster';
import { cliJson, killMember, livePrimaries, waitFor } from './support/failover';

jest.setTimeout(10 * 60_000);

const TEMPORAL_PORT = 32351;
const c = withMonitor(
  makeCluster(
    {
      ...layout({
        name: 'it-bad',
        basePort: 31350,
        temporalPort: TEMPORAL_PORT,
        rows: 100,
        shardCount: 4,
        coordinatorStandby: false,
      }),
      metrics: { port: 31357 },
    },
    TEMPORAL_PORT,
  ),
);

/** The temporal CLI against the cluster's embedded server. */
const temporal = temporalOn(TEMPORAL_PORT, 120_000);

interface Described {
  workflowExecutionInfo: { status: string };
}

/** What the cluster is made of, read directly (never through citusctl): compared before and after. */
async function snapshot() {
  const nodes = await su(
    c,
    'coord-a',
    async (cl) =>
      (
        await cl.query(
          'SELECT nodeid, groupid, nodename, nodeport, noderole::text AS noderole, isactive, shouldhaveshards ' +
            'FROM pg_dist_node ORDER BY nodeid',
        )
      ).rows,
  );
  const placements = await su(
    c,
    'coord-a',
    async (cl) => (await cl.query('SELECT shardid, groupid FROM pg_dist_placement ORDER BY shardid, groupid')).rows,
  );
  // The health schedule writes its report every run: everything else in etcd must stay as it was.
  const etcd = await withEtcd(c, async (e) =>
    Object.entries(await e.getAll().prefix(`/citusctl/${c.name}/`).strings())
      .filter(([k]) => !k.endsWith('/health/last'))
      .sort(),
  );
  const containers = (await docker.listContainers({ all: true, filters: { label: [`citusctl.cluster=${c.name}`] } }))
    .map((x) => ({ name: x.Names[0], id: x.Id, state: x.State, created: x.Created }))
    .sort((a, b) => String(a.name).localeCompare(String(b.name)));
  const volumes = ((await docker.listVolumes({ filters: { label: [`citusctl.cluster=${c.name}`] } })).Volumes ?? [])
    .map((v) => v.Name)
    .sort();
  return { nodes, placements, etcd, containers, volumes };
}

describe('malformed inputs from the Temporal UI (the temporal CLI) fail at once and change nothing', () => {
  let before: Awaited<ReturnType<typeof snapshot>>;

  upClusterForFile(c, {
    ready: {
      what: 'the monitor to probe the cluster',
      until: async () => {
        const st = await cliJson<{
          controlPlane: { monitor: { running: boolean; groups?: Record<string, { primaryState: string }> } };
        }>(c, ['status']);
        return st.controlPlane.monitor.groups?.g1?.primaryState === 'ok' &&
          st.controlPlane.monitor.groups?.g2?.primaryState === 'ok'
          ? true
          : undefined;
      },
      intervalMs: 1000,
    },
  });

  beforeAll(async () => {
    before = await snapshot();
  });

  it.each<[string, string, string, string | undefined, RegExp]>([
    [
      'failoverGroup {}',
      'failoverGroup',
      `failover-${c.name}-g1`,
      '{}',
      /invalid input of failoverGroup: .*group: required/,
    ],
    [
      'failoverGroup with an unknown group',
      'failoverGroup',
      `failover-${c.name}-g9`,
      `{"cluster":"${c.name}","group":"g9"}`,
      /group: unknown group g9 \(groups of it-bad: coordinator, g1, g2\)/,
    ],
    [
      'rejoinMemberWorkflow {}',
      'rejoinMemberWorkflow',
      `rejoin-${c.name}-g1-a`,
      '{}',
      /invalid input of rejoinMemberWorkflow: .*member: required/,
    ],
    [
      'drainGroup "transferMode":"x"',
      'drainGroup',
      `drain-${c.name}-g2`,
      `{"cluster":"${c.name}","group":"g2","transferMode":"x"}`,
      /transferMode: the string "x" is not one of "auto", "force_logical", "block_writes"/,
    ],
    [
      'setupCluster with no input',
      'setupCluster',
      `setup-${c.name}`,
      undefined,
      /invalid input of setupCluster: input: expected a JSON object, got nothing/,
    ],
  ])('%s ends Failed, naming the field', async (_what, type, workflowId, input, message) => {
    const started = Date.now();
    const start = await temporal([
      'workflow',
      'start',
      '--type',
      type,
      '--task-queue',
      'citusctl',
      '--workflow-id',
      workflowId,
      ...(input === undefined ? [] : ['--input', input]),
    ]);
    if (start.code !== 0) throw new Error(`temporal workflow start failed: ${describeRun(start)}`);
    // The result: the CLI waits for the run to close (a hang here is a wedged workflow task).
    const result = await temporal(['workflow', 'result', '--workflow-id', workflowId, '-o', 'json'], 120_000);
    const elapsed = Date.now() - started;
    expect(result.code).not.toBe(0);
    // the failure comes as JSON: unescape its quotes
    const text = `${result.stdout}${result.stderr}`.replace(/\\/g, '');
    expect(text).toMatch(message);
    expect(text).toMatch(/"type": ?"BadConfig"/);
    const d = await temporal(['workflow', 'describe', '--workflow-id', workflowId, '-o', 'json']);
    expect((JSON.parse(d.stdout) as Described).workflowExecutionInfo.status).toBe('WORKFLOW_EXECUTION_STATUS_FAILED');
    console.log(
      `[bad-inputs] ${type} ${input ?? '(no input)'}: Failed ${(elapsed / 1000).toFixed(1)} s after the start`,
    );
  });

  it('Citus (pg_dist_node with shouldhaveshards, placements), etcd, containers and volumes are unchanged', async () => {
    const after = await snapshot();
    expect(after.nodes).toEqual(before.nodes);
    expect(after.nodes.filter((n) => n.groupid !== 0).every((n) => n.shouldhaveshards === true)).toBe(true);
    expect(after.placements).toEqual(before.placements);
    expect(after.etcd).toEqual(before.etcd);
    expect(after.containers).toEqual(before.containers);
    expect(after.volumes).toEqual(before.volumes);
  });

  it('no workflow of the cluster is stuck, and the monitor is running', async () => {
    const st = await cliJson<{
      controlPlane: { stuckWorkflows?: unknown[]; monitor: { running: boolean; state?: string } };
    }>(c, ['status']);
    expect(st.controlPlane.stuckWorkflows).toEqual([]);
    expect(st.controlPlane.monitor).toMatchObject({ running: true });
  });

  it('the monitor heals a worker primary killed right after', async () => {
    expect((await livePrimaries(c)).g1).toBe('g1-a');
    const killedAt = Date.now();
    await killMember(c, 'g1-a');
    const workers = () =>
      su(c, 'coord-a', async (cl) =>
        (
          await cl.query<{ nodename: string }>(
            "SELECT nodename FROM pg_dist_node WHERE noderole = 'primary' AND groupid <> 0 ORDER BY nodename",
          )
        ).rows.map((r) => r.nodename),
      );
    await waitFor(
      'the monitor to fail g1 over (etcd and pg_dist_node name g1-b)',
      async () => ((await livePrimaries(c)).g1 === 'g1-b' && (await workers())[0] === 'g1-b' ? true : undefined),
      180_000,
      500,
    );
    expect(await workers()).toEqual(['g1-b', 'g2-a']);
    expect(
      await su(c, 'g1-b', async (cl) => (await cl.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r),
    ).toBe(false);
    console.log(
      '[bad-inputs] g1-a killed: the monitor made g1-b the primary within ' +
        `${((Date.now() - killedAt) / 1000).toFixed(1)} s`,
    );
    const d = await temporal(['workflow', 'describe', '--workflow-id', `failover-${c.name}-g1`, '-o', 'json']);
    expect((JSON.parse(d.stdout) as Described).workflowExecutionInfo.status).toMatch(/RUNNING|COMPLETED/);
    expect((await docker.getContainer(containerName(c.name, 'g1-b')).inspect()).State.Running).toBe(true);
  });
});
