/**
 * The frame every bench entry shares: state dir, spec and results dir from the environment, the
 * summary log, the cluster and CLI options, then `main`, and `down --volumes` at the end (KEEP_UP=1
 * keeps the cluster); the process exits with main's code.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BenchCluster } from './cluster';
import { runCli, type CliOptions } from './cli';
import { Log } from './util';

export const ROOT = path.resolve(__dirname, '..', '..', '..');

export interface BenchFrame {
  /** e.g. "failover": names the log lines, the results dir and the app name. */
  name: string;
  /** Spec file relative to the project root (env SPEC overrides). */
  spec: string;
  defaultStateDir: string;
  main: (log: Log, cli: CliOptions, cluster: BenchCluster, outDir: string) => Promise<number>;
}

async function run(frame: BenchFrame): Promise<number> {
  const env = process.env;
  const stateDir = path.resolve(env.CITUSCTL_STATE_DIR ?? frame.defaultStateDir);
  const spec = path.resolve(env.SPEC ?? path.join(ROOT, frame.spec));
  const outDir =
    env.BENCH_OUT ?? path.join(stateDir, `${frame.name}-results-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  fs.mkdirSync(outDir, { recursive: true });
  const log = new Log(path.join(outDir, 'summary.txt'));
  const cluster = new BenchCluster(spec, stateDir, `bench-${frame.name}`);
  const cli: CliOptions = { root: ROOT, spec, outDir };
  let code = 1;
  try {
    code = await frame.main(log, cli, cluster, outDir);
  } catch (err) {
    log.line(`bench/${frame.name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    if (env.KEEP_UP !== '1') {
      // A bench's cluster goes whole: its backup repository too.
      const d = await runCli(cli, ['down', '--volumes', '--backups'], 'down');
      if (d.doc.ok) log.line(`cluster ${cluster.name} removed (down --volumes --backups)`);
      else
        log.line(
          `citusctl down --volumes FAILED: ${String(d.doc.error)}; removed by label instead: ` +
            `${await cluster.removeByLabel().catch((err: unknown) => String(err))}`,
        );
    }
    log.close();
  }
  return code;
}

/** Exits the process with a bench's code once it is known (1 on an error nothing caught). */
export function exitWith(code: Promise<number>): void {
  code.then(
    (c) => process.exit(c),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

export function runBench(frame: BenchFrame): void {
  exitWith(run(frame));
}
