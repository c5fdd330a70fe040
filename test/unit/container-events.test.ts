/** The probe's wake-up on Docker events: an event that comes while a round runs is not lost. */
import type Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { watchContainerEvents } from '../../activities/monitor/container-events';

function fakeDocker(): { docker: Docker; stream: PassThrough } {
  const stream = new PassThrough();
  return { docker: { getEvents: () => Promise.resolve(stream) } as unknown as Docker, stream };
}

const flush = () => new Promise((r) => setImmediate(r));
const settled = async (p: Promise<void>) => {
  let done = false;
  void p.then(() => (done = true));
  await flush();
  return done;
};

test('an event during the round resolves the wait that follows it at once', async () => {
  const { docker, stream } = fakeDocker();
  const events = watchContainerEvents(docker, 'c');
  await flush();
  const mark = events.seen(); // the round starts
  stream.write('{"status":"die"}\n'); // the container dies while the round runs
  await flush();
  expect(await settled(events.after(mark))).toBe(true);
  events.close();
});

test('with no event the wait holds until one comes, and a later wait needs a newer event', async () => {
  const { docker, stream } = fakeDocker();
  const events = watchContainerEvents(docker, 'c');
  await flush();
  const waiting = events.after(events.seen());
  expect(await settled(waiting)).toBe(false);
  stream.write('{"status":"die"}\n');
  expect(await settled(waiting)).toBe(true);
  expect(await settled(events.after(events.seen()))).toBe(false);
  events.close();
});

test('close releases every wait', async () => {
  const { docker } = fakeDocker();
  const events = watchContainerEvents(docker, 'c');
  const waiting = events.after(events.seen());
  events.close();
  expect(await settled(waiting)).toBe(true);
});

test("a container's latest event: die -> exited, destroy -> absent, start -> ask Docker (chunked lines)", async () => {
  const { docker, stream } = fakeDocker();
  const events = watchContainerEvents(docker, 'c');
  await flush();
  const event = (action: string, name: string) =>
    JSON.stringify({ Type: 'container', Action: action, status: action, Actor: { Attributes: { name } } }) + '\n';
  const die = event('die', 'citusctl-c-g1-a');
  stream.write(die.slice(0, 20));
  await flush();
  expect(events.statusOf('citusctl-c-g1-a')).toBeUndefined(); // half a line says nothing yet
  const mark = events.seen();
  stream.write(die.slice(20) + event('destroy', 'citusctl-c-g2-b'));
  await flush();
  expect(events.statusOf('citusctl-c-g1-a')).toBe('exited');
  expect(events.statusOf('citusctl-c-g2-b')).toBe('absent');
  expect(await settled(events.after(mark))).toBe(true);
  const beforeStart = events.seen();
  stream.write(event('start', 'citusctl-c-g1-a'));
  await flush();
  expect(events.statusOf('citusctl-c-g1-a')).toBeUndefined();
  expect(events.seen()).toBe(beforeStart); // a start wakes nobody
  events.close();
});
