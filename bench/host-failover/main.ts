/**
 * bench/host-failover: the loss of a whole host, the monitor alone repairing (issue 18). Three
 * simulated hosts, the host-failure test's layout (test/integration/host-failure.test.ts), `citusctl
 * up` with the monitor, then ROUNDS rounds under numbered writers through the multi-host string, on
 * the host holding g1's current primary: FAULT=kill (kill-round.ts) kills it with its worker and
 * boots it again; FAULT=partition (partition-round.ts) cuts it off the hosts network, its worker
 * running on it, and plugs it back. Rounds alternate between hosts (the next hits the host of g1's
 * new primary). Benchmark only: no test asserts on these numbers. Run through bench/host-failover/run.sh.
 *
 * env: FAULT (kill | partition), ROUNDS (10), WRITERS (4), WRITE_INTERVAL_MS (20), QUERY_TIMEOUT_MS
 *      (2000: a statement stuck on the lost host errs after this and its writer reconnects),
 *      CONNECT_TIMEOUT_MS (2000, per PgBouncer tried), SETTLE_MS (3000: writes before the fault, and
 *      after the new primary before a cut host is plugged back), ISOLATED_WRITER (1: with FAULT=partition,
 *      a writer on the cut host itself; 0: none), BENCH_OUT, CITUSCTL_STATE_DIR, KEEP_UP=1, SIM_HOSTS_KEEP=0.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { testCluster } from '../lib/test-support';
import { citusUnderTest, countFromEnv, machineLine, upOnCleanStart } from '../lib/start';
import { MultiHostTarget } from '../lib/multi-host-target';
import { runCli, type CliOptions } from '../lib/cli';
import type { HostsCluster } from '../lib/hosts-cluster';
import { runSimHostsBench, type HostFleet } from '../lib/sim-hosts-bench';
import { errorMessage, loadavg, Log, sleep } from '../lib/util';
import { SequentialIds } from '../lib/writer';
import { killRound } from './kill-round';
import { partitionRound } from './partition-round';
import { failedRound, roundLine, summarize } from './report';
import type { HostRound } from './round';

const env = process.env;
const count = countFromEnv;
const NAME = 'benchhf';
const TABLE = 'bench_host_writes';
const FAULT = env.FAULT || 'kill';
if (FAULT !== 'kill' && FAULT !== 'partition') throw new Error(`FAULT must be kill or partition, not ${FAULT}`);
const CUT = FAULT === 'partition';

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
    `bench/host-failover: ${rounds} rounds: the host of g1's primary ` +
      `${CUT ? 'cut off the hosts network (its worker on it)' : 'killed with its worker'}, the monitor repairs, ` +
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
      isolated: env.ISOLATED_WRITER !== '0',
      save: (file: string, doc: unknown) => fs.writeFileSync(path.join(outDir, file), JSON.stringify(doc)),
    };
    // A round that throws is recorded; the hosts are brought back and the next one tries, unless two in a row threw.
    for (let i = 1, thrown = 0; i <= rounds && thrown < 2; i++) {
      const r = await (CUT ? partitionRound(ctx, i) : killRound(ctx, i)).catch(async (err: unknown) => {
        await fleet.reviveAll().catch((e: unknown) => log.line(`   could not revive the hosts: ${errorMessage(e)}`));
        return failedRound(i, CUT ? 'cut' : 'kill', errorMessage(err));
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
  summarize(log, results, isDouble, CUT);
  log.line(
    `reproduce: FAULT=${FAULT} bash bench/host-failover/run.sh ${rounds}   ` +
      `(CITUSCTL_IMAGE_POSTGRES=${env.CITUSCTL_IMAGE_POSTGRES ?? ''})`,
  );
  return results.some((r) => !r.ok || r.lost) ? 1 : 0;
}

const TEMPORAL_PORT = count(env.CITUSCTL_TEMPORAL_PORT, 47373);
const layout = testCluster.layout({
  name: NAME,
  basePort: 44760,
  temporalPort: TEMPORAL_PORT,
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
  // A cut host's worker must lose etcd and Temporal with it (its self-fence): it runs on its host.
  workersOnHosts: CUT ? { temporalForwardPort: TEMPORAL_PORT - 1 } : undefined,
  main,
});
