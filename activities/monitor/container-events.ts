/**
 * Docker's events for one cluster's containers: `die` (killed, stopped or crashed) and `destroy`
 * (removed). The monitor's probe waits on them as well as on its interval, so a container that
 * goes away is looked at at once instead of up to an interval later: a dead PgBouncer is every
 * client's outage. Best effort: when the event stream cannot be had, the interval alone remains.
 */
import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { LABEL_CLUSTER } from '../../common/labels';

export interface ContainerEvents {
  /** How many events have been seen so far. */
  seen(): number;
  /**
   * Resolves once more than `mark` events have been seen: at once when one came already (an event
   * during the probe's round is not lost), or at close.
   */
  after(mark: number): Promise<void>;
  close(): void;
}

export function watchContainerEvents(docker: Docker, cluster: string): ContainerEvents {
  let closed = false;
  let stream: Readable | undefined;
  let count = 0;
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
  docker
    .getEvents({ filters: { type: ['container'], event: ['die', 'destroy'], label: [`${LABEL_CLUSTER}=${cluster}`] } })
    .then(
      (s) => {
        stream = s as Readable;
        if (closed) return stream.destroy();
        stream.on('data', wake);
        stream.on('error', () => undefined);
      },
      () => undefined,
    );
  return {
    seen: () => count,
    after: (mark) =>
      closed || mark < count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ mark, resolve })),
    close: () => {
      closed = true;
      stream?.destroy();
      settle();
    },
  };
}
