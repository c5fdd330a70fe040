/**
 * bench/host-failover: the loss of a whole host, the monitor alone repairing (issue 18). Three
 * simulated hosts, the host-failure test's layout (test/integration/host-failure.test.ts), `citusctl
 * up` with the monitor, then ROUNDS rounds (bench/host-failover/round.ts): the host holding g1's
 * current primary dies with its worker under numbered writers through the multi-host string, and
 * comes back. Rounds alternate between hosts (the next kills the host of g1's new primary).
 * Benchmark only: no test asserts on these numbers. Run through bench/host-failover/run.sh.
 *
 * env: ROUNDS (10), WRITERS (4), WRITE_INTERVAL_MS (20), QUERY_TIMEOUT_MS (2000: a statement stuck on
 *      the dead host errs after this and its writer reconnects), CONNECT_TIMEOUT_MS (2000, per
 *      PgBouncer tried), SETTLE_MS (3000), BENCH_OUT, CITUSCTL_STATE_DIR, KEEP_UP=1, SIM_HOSTS_KEEP=0.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { testCluster } from '../lib/test-support';
import { citusUnderTest, countFromEnv, machineLine, statLine, upOnCleanStart } from '../lib/start';
import { MultiHostTarget } from '../lib/multi-host-target';
import { runCli, type CliOptions } from '../lib/cli';
import type { HostsCluster } from '../lib/hosts-cluster';
import { runSimHostsBench, type HostFleet } from '../lib/sim-hosts-bench';
import { errorMessage, loadavg, Log, median, ms, sleep, sum } from '../lib/util';
import { SequentialIds } from '../lib/writer';
import { hostRound, PART, type HostRound } from './round';

const env = process.env;
const count = countFromEnv;
const NAME = 'benchhf';
const TABLE = 'bench_host_writes';

function roundLine(r: HostRound): string {
  const p = r.parts;
  const others = Object.entries(r.failovers)
    .filter(([g]) => g !== 'g1')
    .map(([g, f]) => ` | also ${g} ${f.from}->${f.to ?? '?'} etcd ${ms(f.etcdMs)}`)
    .join('');
  const lost = r.lost ? `LOST ${r.lost}` : 'lost 0';
  return (
    `${String(r.round).padStart(2)} kill ${r.host} (${r.held.join(' ')}): g1 ${r.from} -> ${r.to ?? '?'} | detect ` +
    `${ms(p[PART.detect])} etcd ${ms(p[PART.etcd])} ` +
    `| g1 outage ${ms(p[PART.g1Outage])} all ${ms(p[PART.allOutage])} ` +
    `ms | ${lost}/${r.acked} (${r.g1Acked ?? 'n/a'} on g1), ${r.failedTries} failed tries${others} | rejoin: streams ` +
    `${ms(p[PART.streams])} in recovery ${String(r.oldPrimaryInRecovery ?? '?')} healthy ` +
    `${ms(p[PART.healthy])} ms | load ${r.load.atFault} -> ${r.load.atEnd}` +
    `${r.ok ? '' : `\n   FAILED: ${String(r.error)}`}` +
    `\n   failover (ms from its start): ${Object.entries(r.timeline)
      .map(([k, v]) => `${k} +${v}`)
      .join(', ')}`
  );
}

function summarize(log: Log, rs: HostRound[], isDouble: boolean): void {
  const ok = rs.filter((r) => r.ok);
  log.line(
    `host holding g1's primary killed (with its worker): ${ok.length}/${rs.length} rounds repaired by the monitor`,
  );
  const stat = statLine(log, 52);
  const outage = PART.g1Outage;
  const outages = rs.map((r) => r.parts[outage]);
  const m = median(outages);
  stat(
    outage,
    outages,
    m === undefined
      ? isDouble
        ? '   (test double: no row is placed on g1)'
        : ''
      : `   target <= 5000: ${m <= 5000 ? 'met' : 'NOT met'} (median), stretch 3000: ` +
          `${m <= 3000 ? 'met' : 'not met'}; ` +
          `rounds <= 5000: ${outages.filter((x) => x !== undefined && x <= 5000).length}/${rs.length}`,
  );
  const lost = sum(rs.map((r) => r.lost));
  const acked = sum(rs.map((r) => r.acked));
  log.line(
    `  ${'acknowledged writes lost'.padEnd(52)} ${lost ? `LOST ${lost}` : 'total 0'} of ${acked} acked` +
      `${lost ? '   <<<<< ACKNOWLEDGED WRITES LOST' : ''}`,
  );
  const keys = [...new Set(rs.flatMap((r) => Object.keys(r.parts)))].filter((k) => k !== outage);
  for (const k of keys)
    stat(
      k,
      rs.map((r) => r.parts[k]),
    );
  const inRecovery = rs.filter((r) => r.oldPrimaryInRecovery).length;
  log.line(`  ${'old primary in recovery after the rejoin'.padEnd(52)} ${inRecovery} of ${rs.length} rounds`);
  log.line(`  ${'loadavg at the faults'.padEnd(52)} ${rs.map((r) => r.load.atFault.split('/')[0]).join(' ')}`);
}

const failedRound = (round: number, error: string): HostRound => ({
  round,
  ok: false,
  error,
  host: '?',
  held: [],
  from: '?',
  failovers: {},
  parts: {},
  timeline: {},
  acked: 0,
  failedTries: 0,
  lost: 0,
  missing: [],
  load: { atFault: '', atEnd: loadavg() },
});

/** Until the monitor has probed once (`status --json`), so the first round's fault is watched. */
async function monitorProbing(cli: CliOptions): Promise<void> {
  for (const end = Date.now() + 120_000; Date.now() < end; await sleep(1000)) {
    const s = (await runCli(cli, ['status'])).doc as {
      controlPlane?: { monitor?: { running?: boolean; lastProbeAt?: string } };
    };
    if (s.controlPlane?.monitor?.running && s.controlPlane.monitor.lastProbeAt) return;
  }
  throw new Error('the monitor did not probe within 120 s of up');
}

async function main(
  log: Log,
  cli: CliOptions,
  cluster: HostsCluster,
  fleet: HostFleet,
  outDir: string,
): Promise<number> {
  const rounds = count(process.argv[2] ?? env.ROUNDS, 10);
  const timeouts = { connectMs: count(env.CONNECT_TIMEOUT_MS, 2000), queryMs: count(env.QUERY_TIMEOUT_MS, 2000) };
  const writers = count(env.WRITERS, 4);
  const intervalMs = count(env.WRITE_INTERVAL_MS, 20);
  log.line(
    `bench/host-failover: ${rounds} rounds: the host of g1's primary killed with its worker, the monitor repairs, ` +
      `the host comes back; ${writers} writers every ${intervalMs} ms; results in ${outDir}`,
  );
  log.line(machineLine());
  await upOnCleanStart(cli);
  const { version, isDouble } = await citusUnderTest(cluster);
  log.line(
    `citus_version(): ${version}${isDouble ? '  (TEST DOUBLE: no row reaches g1, g1 has no outage of its own)' : ''}`,
  );
  await monitorProbing(cli);
  const target = new MultiHostTarget(cluster, TABLE, timeouts);
  const ids = new SequentialIds(await target.prepare());
  log.line(`writers: ${writers}, ${target.label}`);
  const connection = await Connection.connect({ address: `127.0.0.1:${env.CITUSCTL_TEMPORAL_PORT ?? '7233'}` });
  const results: HostRound[] = [];
  try {
    const ctx = {
      cluster,
      fleet,
      temporal: new Client({ connection }),
      target,
      ids,
      isDouble,
      writers,
      intervalMs,
      settleMs: count(env.SETTLE_MS, 3000),
      save: (file: string, doc: unknown) => fs.writeFileSync(path.join(outDir, file), JSON.stringify(doc)),
    };
    // A round that throws is recorded; the hosts are brought back and the next one tries, unless two in a row threw.
    for (let i = 1, thrown = 0; i <= rounds && thrown < 2; i++) {
      const r = await hostRound(ctx, i).catch(async (err: unknown) => {
        await fleet.reviveAll().catch((e: unknown) => log.line(`   could not revive the hosts: ${errorMessage(e)}`));
        return failedRound(i, errorMessage(err));
      });
      thrown = r.host === '?' ? thrown + 1 : 0;
      results.push(r);
      fs.writeFileSync(path.join(outDir, 'rounds.json'), JSON.stringify(results, null, 2));
      log.line(roundLine(r));
    }
  } finally {
    await connection.close();
  }
  log.line('');
  log.line(
    `summary (${isDouble ? 'Citus TEST DOUBLE' : 'real Citus'}; durability ${cluster.spec.durability}; ` +
      `writes ${target.label}; loadavg ${loadavg()} at the end)`,
  );
  summarize(log, results, isDouble);
  log.line(
    `reproduce: bash bench/host-failover/run.sh ${rounds}   ` +
      `(CITUSCTL_IMAGE_POSTGRES=${env.CITUSCTL_IMAGE_POSTGRES ?? ''})`,
  );
  return results.some((r) => !r.ok || r.lost) ? 1 : 0;
}

const layout = testCluster.layout({
  name: NAME,
  basePort: 44760,
  temporalPort: count(env.CITUSCTL_TEMPORAL_PORT, 47373),
  rows: 200,
  shardCount: 4,
  coordinatorStandby: false,
});

runSimHostsBench({
  name: 'host-failover',
  suffix: 'bench-hf',
  subnet: '10.218.71.0/24',
  defaultStateDir: '/tmp/citusctl-bench-hostfo',
  // As the host-failure test: no coordinator standby (its synchronous standby would die with some host and
  // hold the coordinator's commits until the monitor relaxes durability: the bench is about g1).
  spec: { ...layout, metrics: { port: 44778 }, backup: { enabled: false } },
  main,
});
