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
  /** Resolves at the next event (or at close). */
  next(): Promise<void>;
  close(): void;
}

export function watchContainerEvents(docker: Docker, cluster: string): ContainerEvents {
  let closed = false;
  let stream: Readable | undefined;
  let fire: () => void = () => undefined;
  let pending = new Promise<void>((resolve) => (fire = resolve));
  const wake = () => {
    const f = fire;
    pending = new Promise<void>((resolve) => (fire = resolve));
    f();
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
    next: () => pending,
    close: () => {
      closed = true;
      stream?.destroy();
      wake();
    },
  };
}
