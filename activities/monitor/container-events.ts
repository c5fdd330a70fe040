/**
 * Docker's events for one cluster's containers: `die` (killed, stopped or crashed), `destroy`
 * (removed) and `start`. The monitor's probe waits on the first two as well as on its interval, so
 * a container that goes away is looked at at once instead of up to an interval later: a dead
 * PgBouncer is every client's outage. And they are Docker's own word on the container while
 * `docker inspect` cannot answer: the engine holds a dying container's inspect until its teardown
 * is done (a second or more), which would leave a killed primary `unknown` for a whole round.
 * Best effort: when the event stream cannot be had, the interval and inspect alone remain.
 */
import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { LABEL_CLUSTER } from '../../common/labels';
import type { ContainerStatus } from '../../common/member-observation';

export interface ContainerEvents {
  /** How many events have been seen so far. */
  seen(): number;
  /**
   * Resolves once more than `mark` events have been seen: at once when one came already (an event
   * during the probe's round is not lost), or at close.
   */
  after(mark: number): Promise<void>;
  /** What the container's latest event says: `exited` after a `die`, `absent` after a `destroy`, else nothing. */
  statusOf(container: string): ContainerStatus | undefined;
  close(): void;
}

interface DockerEvent {
  Action?: string;
  status?: string;
  Actor?: { Attributes?: { name?: string } };
}

const EVENT_STATUS: Record<string, ContainerStatus | undefined> = {
  die: 'exited',
  destroy: 'absent',
  start: undefined,
};

export function watchContainerEvents(docker: Docker, cluster: string): ContainerEvents {
  let closed = false;
  let stream: Readable | undefined;
  let count = 0;
  let buffered = '';
  const latest = new Map<string, ContainerStatus | undefined>();
  let waiters: { mark: number; resolve: () => void }[] = [];
  const settle = () => {
    const ready = waiters.filter((w) => closed || w.mark < count);
    waiters = waiters.filter((w) => !ready.includes(w));
    ready.forEach((w) => w.resolve());
  };
  const wake = () => {
    count++;
    settle();
  };
  // The stream carries one JSON event per line, in chunks that need not end on a line.
  const onData = (chunk: Buffer | string) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    let woke = false;
    for (const line of lines.filter((l) => l.trim())) {
      let e: DockerEvent;
      try {
        e = JSON.parse(line) as DockerEvent;
      } catch {
        continue;
      }
      const action = e.Action ?? e.status ?? '';
      const name = e.Actor?.Attributes?.name;
      if (name && action in EVENT_STATUS) latest.set(name, EVENT_STATUS[action]);
      if (action !== 'start') woke = true;
    }
    if (woke) wake();
  };
  docker
    .getEvents({
      filters: { type: ['container'], event: ['die', 'destroy', 'start'], label: [`${LABEL_CLUSTER}=${cluster}`] },
    })
    .then(
      (s) => {
        stream = s as Readable;
        if (closed) return stream.destroy();
        stream.on('data', onData);
        stream.on('error', () => undefined);
      },
      () => undefined,
    );
  return {
    seen: () => count,
    after: (mark) =>
      closed || mark < count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ mark, resolve })),
    statusOf: (container) => latest.get(container),
    close: () => {
      closed = true;
      stream?.destroy();
      settle();
    },
  };
}
