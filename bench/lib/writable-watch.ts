/**
 * Watches that every group has exactly one writable member (out of recovery): every member's role is
 * polled, all at once, until stop(); a poll in which a group has none or more than one is a violation
 * (more than one: two primaries; none: no member answered as one within the timeout). What a heal
 * must keep true (bench/host-failover's partition rounds).
 */
import type { BenchCluster } from './cluster';
import { now, sleep } from './util';

export interface WritableWatch {
  /** Ends the polling (after the poll under way); the polls made and each violation (ms from `from`). */
  stop(): Promise<{ polls: number; violations: string[] }>;
}

export function watchWritable(cluster: BenchCluster, from: number, pollMs = 500, roleTimeoutMs = 5000): WritableWatch {
  const violations: string[] = [];
  let polls = 0;
  let stopped = false;
  const running = (async () => {
    while (!stopped) {
      const at = now();
      const roles = await Promise.all(
        cluster.spec.members.map(async (m) => ({ m, role: await cluster.role(m.name, roleTimeoutMs) })),
      );
      for (const g of cluster.groups()) {
        const writable = roles.filter((r) => r.m.group === g && r.role === 'primary').map((r) => r.m.name);
        if (writable.length !== 1)
          violations.push(`+${Math.round(at - from)} ms ${g}: ${writable.join(', ') || 'none'} writable`);
      }
      polls++;
      await sleep(pollMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await running;
      return { polls, violations };
    },
  };
}
