/**
 * COPY ... FROM STDIN through pg (pg-copy-streams): text chunks streamed with backpressure. One
 * COPY statement is one transaction: it commits whole or not at all.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ClientBase } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** Runs `copySql` (a `COPY ... FROM STDIN`) fed with `chunks`; returns the rows the server reports. */
export async function copyFromChunks(c: Pick<ClientBase, 'query'>, copySql: string, chunks: Iterable<string>): Promise<number> {
  const stream = c.query(copyFrom(copySql));
  await pipeline(Readable.from(chunks, { objectMode: false }), stream);
  return stream.rowCount;
}
