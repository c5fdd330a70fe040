/**
 * With several etcd members, which of them accept a TCP connection, looked at in the background
 * while the client is in use. A call etcd3 sends to a member whose host died waits for a connection
 * that never comes (about 3 s on one network, up to the call's deadline elsewhere) before it moves
 * on: measured on three simulated hosts, a failover's group lock took 5.7 s that way. The probe
 * knocks on every member's port every PROBE_EVERY_MS (no TLS, nothing sent) and marks one that does
 * not connect within KNOCK_TIMEOUT_MS unreachable for UNREACHABLE_MS, so calls skip it
 * (etcd-host-skip.ts) within a second of the host's death, and the calls waiting on it fail over
 * to another member at once; a knock that connects lifts the mark at once. It stops when no call
 * came for IDLE_STOP_MS, never holds the process open, and a dead port on a live host (refused at
 * once) is marked the same way.
 */
import { markUnreachable, type SkipBoard } from './etcd-host-skip';
import { tcpConnects } from './peer-reach';

export const PROBE_EVERY_MS = 500;
export const KNOCK_TIMEOUT_MS = 500;
export const UNREACHABLE_MS = 1500;
export const IDLE_STOP_MS = 10_000;

/** Whether `endpoint` (https://host:port) accepts a TCP connection within `ms`. */
export function knock(endpoint: string, ms: number): Promise<boolean> {
  const url = new URL(endpoint);
  return tcpConnects(url.hostname.replace(/^\[(.*)\]$/, '$1'), Number(url.port), ms);
}

/** Starts probing the board's members whenever a call is made (board.onCall), while calls keep coming. */
export function probeWhileUsed(
  board: SkipBoard,
  knockFn: (endpoint: string) => Promise<boolean> = (e) => knock(e, KNOCK_TIMEOUT_MS),
  now: () => number = Date.now,
): void {
  let lastCall = 0;
  let timer: NodeJS.Timeout | undefined;
  const round = async () => {
    timer = undefined;
    if (now() - lastCall > IDLE_STOP_MS) return;
    const answers = await Promise.all(board.members.map((m) => knockFn(m)));
    board.members.forEach((m, i) => {
      if (answers[i]) board.unreachable.delete(m);
      else markUnreachable(board, m, now() + UNREACHABLE_MS);
    });
    schedule();
  };
  const schedule = () => {
    if (timer) return;
    timer = setTimeout(() => void round(), PROBE_EVERY_MS);
    timer.unref();
  };
  let started = false;
  board.onCall = () => {
    lastCall = now();
    // A new client (a CLI command's) knocks at once: its first calls are the ones a dead member holds.
    if (started) return schedule();
    started = true;
    void round();
  };
}
