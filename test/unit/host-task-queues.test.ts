/** Per-host task queues: a spec with several hosts sends a member's Docker work to its host's queue. */
import { parseSpec } from '../../common/spec';
import { placeCluster } from '../../common/placement';
import { TASK_QUEUE, buildOfMonitorQueue, hostTaskQueue, taskQueueForMember } from '../../common/task-queues';

const hosts = [
  { name: 'h1', endpoint: 'ssh://docker@10.1.0.1' },
  { name: 'h2', endpoint: 'ssh://docker@10.1.0.2' },
  { name: 'h3', endpoint: 'ssh://docker@10.1.0.3' },
];

describe('hostTaskQueue', () => {
  test('named after the host, beside the shared queue', () => {
    expect(hostTaskQueue('h1')).toBe('citusctl-host-h1');
    expect(hostTaskQueue('h1', 'other')).toBe('other-host-h1');
  });

  test('is not mistaken for a monitor queue', () => {
    expect(buildOfMonitorQueue(hostTaskQueue('h1'))).toBeUndefined();
  });

  test('refuses a name that is not a host name', () => {
    expect(() => hostTaskQueue('H 1')).toThrow(/invalid host name/);
    expect(() => hostTaskQueue('')).toThrow(/invalid host name/);
  });
});

describe('taskQueueForMember', () => {
  test('a spec without hosts: the shared queue for every member, as before', () => {
    const spec = parseSpec({});
    for (const m of spec.members) expect(taskQueueForMember(spec, m.name)).toBe(TASK_QUEUE);
  });

  test('one listed host: still the shared queue', () => {
    const spec = parseSpec({ hosts: [hosts[0]!] });
    for (const m of spec.members) expect(taskQueueForMember(spec, m.name)).toBe(TASK_QUEUE);
  });

  test("several hosts: each member's host queue, where placement puts it", () => {
    const spec = parseSpec({ hosts });
    const placed = placeCluster(spec);
    const queues = spec.members.map((m) => taskQueueForMember(spec, m.name));
    expect(queues).toEqual(spec.members.map((m) => `citusctl-host-${placed.members[m.name]}`));
    expect(new Set(queues)).toEqual(new Set(['citusctl-host-h1', 'citusctl-host-h2', 'citusctl-host-h3']));
  });

  test('a member the spec places is routed to its host', () => {
    const spec = parseSpec({
      hosts,
      members: parseSpec({}).members.map((m) => (m.name === 'g2-b' ? { ...m, host: 'h2' } : m)),
    });
    expect(taskQueueForMember(spec, 'g2-b')).toBe('citusctl-host-h2');
  });

  test('an unknown member is an error, not the shared queue', () => {
    expect(() => taskQueueForMember(parseSpec({ hosts }), 'nobody')).toThrow(/unknown member nobody/);
  });
});
