/**
 * The numbered writer: one connection, one INSERT of the next numbered row at a time. A failed row
 * is retried (same id, new connection) until it succeeds, so the time between the last ack before a
 * fault and the first ack after it is the outage a client sees. A retry that finds its row already
 * there (unique violation: an earlier try committed but its answer was lost) counts as acked then.
 */
import type { Client } from 'pg';
import { errorMessage, now, sleep } from './util';

export interface WriteConn {
  client: Client;
  /** Where the connection went (PgBouncer, or the member that was primary). */
  via: string;
}

export interface WriteTarget {
  /** Says where the rows go, for the report. */
  readonly label: string;
  connect(): Promise<WriteConn | undefined>;
  insert(c: Client, id: number): Promise<void>;
  /** Which of these ids are present now (read from the current primary). */
  readBack(ids: number[]): Promise<{ present: Set<number>; from: string }>;
}

export interface IdSource {
  next(): number;
}

export class SequentialIds implements IdSource {
  constructor(private nextId: number) {}
  next(): number {
    return this.nextId++;
  }
}

export interface Ack {
  id: number;
  t: number;
  attempts: number;
}

export interface WriteError {
  t: number;
  id: number;
  message: string;
}

const UNIQUE_VIOLATION = '23505';

export class NumberedWriter {
  readonly acks: Ack[] = [];
  readonly errors: WriteError[] = [];
  readonly routes: { t: number; via: string }[] = [];
  private stopped = false;
  private done: Promise<void> | undefined;

  constructor(
    readonly target: WriteTarget,
    private readonly ids: IdSource,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  private async loop(): Promise<void> {
    let conn: WriteConn | undefined;
    const drop = () => {
      if (conn) void conn.client.end().catch(() => undefined);
      conn = undefined;
    };
    while (!this.stopped) {
      let id: number;
      try {
        id = this.ids.next();
      } catch (err) {
        this.errors.push({ t: now(), id: -1, message: errorMessage(err) });
        break;
      }
      const t0 = now();
      // Retry this row until it is acknowledged (or the writer is stopped: then it is not acked).
      for (let attempt = 1; !this.stopped; attempt++) {
        if (!conn) {
          conn = await this.target.connect().catch((err: unknown) => {
            this.errors.push({ t: now(), id, message: `connect: ${errorMessage(err)}`.slice(0, 200) });
            return undefined;
          });
          if (!conn) {
            await sleep(50);
            continue;
          }
          this.routes.push({ t: now(), via: conn.via });
        }
        try {
          await this.target.insert(conn.client, id);
          this.acks.push({ id, t: now(), attempts: attempt });
          break;
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code === UNIQUE_VIOLATION && attempt > 1) {
            this.acks.push({ id, t: now(), attempts: attempt });
            break;
          }
          this.errors.push({ t: now(), id, message: errorMessage(err).slice(0, 200) });
          drop();
          await sleep(20);
        }
      }
      const wait = this.intervalMs - (now() - t0);
      if (wait > 0 && !this.stopped) await sleep(wait);
    }
    drop();
  }
}

/**
 * Client write outage around a fault: the first ack after the fault minus the last ack before it.
 * "The fault" is the writer's first failed try at or after tFault (a kill command returns before
 * the process is gone), or tFault when nothing failed.
 */
export function outageAround(
  w: NumberedWriter,
  tFault: number,
): { outageMs?: number; ref: number; lastBefore?: number; firstAfter?: number } {
  const ref = w.errors.find((e) => e.t >= tFault)?.t ?? tFault;
  let lastBefore: number | undefined;
  let firstAfter: number | undefined;
  for (const a of w.acks) {
    if (a.t <= ref) lastBefore = a.t;
    else if (firstAfter === undefined) firstAfter = a.t;
  }
  return {
    ref,
    lastBefore,
    firstAfter,
    outageMs: lastBefore !== undefined && firstAfter !== undefined ? firstAfter - lastBefore : undefined,
  };
}

/** Longest time without an ack that overlaps [from, to] (a gap still open at `to` counts up to `to`). */
export function longestGap(w: NumberedWriter, from: number, to: number): { gapMs: number; start?: number } {
  let best = { gapMs: 0, start: undefined as number | undefined };
  let prev: number | undefined;
  for (const a of w.acks) {
    if (prev !== undefined && a.t >= from && prev <= to && a.t - prev > best.gapMs)
      best = { gapMs: a.t - prev, start: prev };
    prev = a.t;
  }
  if (prev !== undefined && prev < to && to - Math.max(prev, from) > 0 && to - prev > best.gapMs)
    best = { gapMs: to - prev, start: prev };
  return best;
}

/** Acknowledged ids that are not in the table now. */
export async function lostAcks(w: NumberedWriter): Promise<{ lost: number[]; from: string }> {
  if (!w.acks.length) return { lost: [], from: '-' };
  const ids = w.acks.map((a) => a.id);
  const { present, from } = await w.target.readBack(ids);
  return { lost: ids.filter((id) => !present.has(id)), from };
}
