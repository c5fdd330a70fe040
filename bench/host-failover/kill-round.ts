/**
 * A kill round of bench/host-failover: the host holding g1's primary dies (`docker kill` of its host
 * container and, at once, SIGKILL of its `citusctl worker --host`) under the numbered writers; the
 * monitor alone repairs (round.ts measures it). Then the host boots again and its worker starts:
 * restart -> the old primary streams from the new one (pg_stat_replication; checked in recovery),
 * restart -> every group healthy again.
 */
import { now } from '../lib/util';
import { faultUnderWriters, GROUP, hostRoundOf, PART, rejoined, roundTargets, writeFigures } from './round';
import type { HostRound, HostRoundContext } from './round';

export async function killRound(ctx: HostRoundContext, i: number): Promise<HostRound> {
  const { cluster, fleet } = ctx;
  const t = await roundTargets(cluster);
  const f = await faultUnderWriters(ctx, t, () => fleet.crash(t.host), 1000);
  const w = await writeFigures(ctx, i, t, f);

  // The host boots again with its worker: the monitor rejoins the old primary as a standby.
  const tRestart = now();
  await fleet.restart(t.host);
  const back = await rejoined(cluster, t.victim, f.moved[GROUP]?.to);
  const sinceRestart = (x: number | undefined) => (x !== undefined ? x - tRestart : undefined);
  return hostRoundOf(ctx, i, t, f, w, {
    fault: 'kill',
    oldPrimaryInRecovery: back.inRecovery,
    parts: { [PART.streams]: sinceRestart(back.streamingAt), [PART.healthy]: sinceRestart(back.healthyAt) },
    problems: back.problems,
  });
}
