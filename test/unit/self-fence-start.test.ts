/**
 * When a host's worker runs the self-fence loop: never for a cluster of one host (today's default),
 * whether or not it is turned on, nor when turned off; and where its journal lives.
 */
import type Docker from 'dockerode';
import type { ActivityDeps } from '../../activities/deps';
import { parseSpec } from '../../common/spec';
import { placedMembers, selfFenceJournalPath, startHostSelfFence } from '../../worker/self-fence-start';

const members = [
  { name: 'coord-a', group: 'coordinator', port: 31901 },
  { name: 'g1-a', group: 'g1', port: 31902 },
  { name: 'g1-b', group: 'g1', port: 31903 },
];
const oneHost = parseSpec({ name: 'sf', workers: ['g1'], members, etcd: { port: 31900 } });
const twoHosts = parseSpec({
  name: 'sf',
  hosts: [
    { name: 'h1', endpoint: 'unix:///var/run/docker.sock', address: '10.0.0.1' },
    { name: 'h2', endpoint: 'ssh://citusctl@10.0.0.2' },
  ],
  workers: ['g1'],
  members,
  etcd: { port: 31900 },
});
// Never touched when the loop does not start: any use would throw.
const deps = new Proxy(
  {},
  {
    get: () => {
      throw new Error('deps used');
    },
  },
) as ActivityDeps;
const docker = {} as Docker;

describe('startHostSelfFence', () => {
  it('does not run on one host, even when on, and says why', () => {
    const lines: string[] = [];
    expect(startHostSelfFence(oneHost, 'local', deps, docker, { enabled: true, log: (l) => lines.push(l) })).toBe(
      undefined,
    );
    expect(lines).toEqual([expect.stringMatching(/off \(one host/)]);
  });

  it('does not run when turned off on several hosts, and says so', () => {
    const lines: string[] = [];
    expect(startHostSelfFence(twoHosts, 'h1', deps, docker, { enabled: false, log: (l) => lines.push(l) })).toBe(
      undefined,
    );
    expect(lines).toEqual([expect.stringMatching(/off \(--no-self-fence\)/)]);
  });
});

describe('placedMembers and the journal', () => {
  it('spread puts the group members on different hosts, with their ports', () => {
    const placed = placedMembers(twoHosts);
    expect(placed.map((m) => m.port)).toEqual([31901, 31902, 31903]);
    const g1 = placed.filter((m) => m.group === 'g1').map((m) => m.host);
    expect(new Set(g1).size).toBe(2);
  });

  it('the journal is per cluster and host in the state directory', () => {
    expect(selfFenceJournalPath('/state', 'sf', 'h1')).toBe('/state/clusters/sf/self-fence-h1.json');
  });
});
