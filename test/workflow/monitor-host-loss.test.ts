/**
 * The monitor on several hosts, when the host of g1's primary is lost (its engine and SQL silent,
 * no peer reaching it: monitor-world.ts loseHost): the failover it starts is told so
 * (common/host-loss.ts), so it neither asks that host's engine (probe, fence) nor waits for its
 * queue; the fence is the peers' loss recorded in etcd. Both hosts' queues are served here, so a
 * failover not told would probe and fence g1-a there.
 */
import type { FailoverGroupInput } from '../../common/inputs';
import { hostTaskQueue } from '../../common/task-queues';
import type { FailoverGroupResult } from '../../workflows';
import { withMonitorRun } from './monitor-run';
import { waitUntil } from './runner';
import { useWorkflowEnv } from './workflow-env';

jest.setTimeout(90_000);

const wf = useWorkflowEnv();

const TLS = { caFile: '/etc/h/ca.pem', certFile: '/etc/h/cert.pem', keyFile: '/etc/h/key.pem' };

test("g1's primary's host lost: the failover gets the monitor's word and fences by the peers' loss", async () => {
  await withMonitorRun(
    wf,
    {
      prefix: 'monhl',
      storedSpec: true,
      specFields: {
        backup: { enabled: false },
        hosts: [
          { name: 'h1', endpoint: 'tcp://10.1.0.1:2376', tls: TLS },
          { name: 'h2', endpoint: 'tcp://10.1.0.2:2376', tls: TLS },
        ],
      },
      hostQueues: [hostTaskQueue('h1'), hostTaskQueue('h2')],
    },
    async ({ world, sim, status, cluster }) => {
      world.loseHost(['g1-a']);
      await waitUntil('etcd to name a new g1 primary', () => world.primaries.g1 !== 'g1-a');
      const result = (await wf.client.workflow.getHandle(`failover-${cluster}-g1`).result()) as FailoverGroupResult;
      expect(result).toMatchObject({ outcome: 'failed-over', oldPrimary: 'g1-a' });
      const input = sim.failover.inputs('probeMember').filter((p) => p.member === 'g1-a');
      expect(input).toEqual([expect.objectContaining({ engine: false })]);
      expect(sim.failover.called('fenceMember')).toEqual([]);
      expect(sim.failover.inputs('recordMemberStateInEtcd')).toEqual([
        expect.objectContaining({ member: 'g1-a', state: expect.objectContaining({ state: 'fenced' }) }),
      ]);
      const started = (await wf.client.workflow.getHandle(`failover-${cluster}-g1`).fetchHistory()).events?.[0]
        ?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
      const told = (JSON.parse(Buffer.from(started!).toString('utf8')) as FailoverGroupInput).hostLoss;
      expect(told).toMatchObject({ member: 'g1-a', lostForMs: expect.any(Number) });
      const s = await status();
      expect(s.lastActions.find((a) => a.kind === 'failover')?.detail).toMatch(/; host h\d lost for \d+ ms$/);
    },
  );
});
