/**
 * The writers of one failover-bench round: always one through PgBouncer; on the Citus test double
 * also one directly to the faulted group's primary, because the double routes nothing to the
 * workers (rows written through PgBouncer stay on the coordinator and never see the fault).
 */
import type { BenchCluster } from '../lib/cluster';
import { connectGroupPrimary, DirectTarget, GroupShardIds, PgBouncerTarget } from '../lib/targets';
import { NumberedWriter, SequentialIds, type IdSource } from '../lib/writer';

export type WriterKey = 'pgbouncer' | 'direct';

export interface LabelledWriter {
  key: WriterKey;
  writer: NumberedWriter;
}

export class WriterFactory {
  private constructor(
    private readonly cluster: BenchCluster,
    private readonly group: string,
    private readonly intervalMs: number,
    private readonly pgb: PgBouncerTarget,
    private readonly pgbIds: IdSource,
    private readonly direct?: { target: DirectTarget; ids: IdSource },
  ) {}

  static async create(
    cluster: BenchCluster,
    group: string,
    isDouble: boolean,
    intervalMs: number,
  ): Promise<WriterFactory> {
    const pgb = new PgBouncerTarget(
      cluster,
      isDouble
        ? '(test double: these rows stay on the coordinator, they never reach ' + group + ')'
        : `(ids whose shard lives on ${group})`,
    );
    const first = await pgb.firstId();
    if (!isDouble) return new WriterFactory(cluster, group, intervalMs, pgb, new GroupShardIds(first));
    const target = new DirectTarget(cluster, group);
    return new WriterFactory(cluster, group, intervalMs, pgb, new SequentialIds(first), {
      target,
      ids: new SequentialIds(await target.prepare()),
    });
  }

  labels(): Record<WriterKey, string | undefined> {
    return { pgbouncer: this.pgb.label, direct: this.direct?.target.label };
  }

  /** Writers for one round; `withDirect` false for coordinator rounds (the direct writer writes to a worker group). */
  async forRound(withDirect: boolean, expectedWrites: number): Promise<LabelledWriter[]> {
    if (this.pgbIds instanceof GroupShardIds) {
      const coord = await connectGroupPrimary(this.cluster, 'coordinator', 30_000);
      if (!coord) throw new Error('the coordinator group has no primary');
      await coord.client.end().catch(() => undefined);
      await this.pgbIds.fill(this.cluster, coord.via, this.group, expectedWrites);
    }
    const out: LabelledWriter[] = [
      { key: 'pgbouncer', writer: new NumberedWriter(this.pgb, this.pgbIds, this.intervalMs) },
    ];
    if (withDirect && this.direct)
      out.push({ key: 'direct', writer: new NumberedWriter(this.direct.target, this.direct.ids, this.intervalMs) });
    return out;
  }
}
