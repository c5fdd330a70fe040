/**
 * The chaos run's short variant: `bash bench/chaos/run.sh 3` with a fixed seed whose three rounds
 * draw three different fault kinds, on its own cluster (ports 31800-31899) and state directory.
 * The run checks its invariants itself (one writable primary per group among every container,
 * pg_dist_node and etcd agree, no acknowledged write lost, standbys streaming again) and exits
 * non-zero on any violation or unrepaired round; this test asserts that exit code and the closing
 * line. No timing is asserted. Needs: `npm run build`, Docker, the temporal CLI and the images.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, temporalCli, testImages } from './support/cluster';

jest.setTimeout(10 * 60_000);

/**
 * Rounds: partition-worker-primary, kill-standby, pause-worker-primary
 * (the kinds are drawn from the seed alone, over FAULT_KINDS).
 */
const SEED = '4';
const ROUNDS = 3;

function runChaos(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [path.join(ROOT, 'bench/chaos/run.sh'), String(ROUNDS)], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('chaos run (bench/chaos/run.sh, 3 rounds)', () => {
  it('repairs every round with every invariant held', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-it-chaos-'));
    const images = testImages();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CHAOS_SEED: SEED,
      SKIP_BUILD: '1',
      CITUSCTL_STATE_DIR: stateDir,
      BENCH_OUT: path.join(stateDir, 'results'),
      TEMPORAL_CLI_PATH: temporalCli(),
      CITUSCTL_IMAGE_POSTGRES: images.postgres,
      CITUSCTL_IMAGE_PGBOUNCER: images.pgbouncer,
      CITUSCTL_IMAGE_ETCD: images.etcd,
    };
    delete env.TEMPORAL_ADDRESS;
    const { code, output } = await runChaos(env, 9 * 60_000);
    const rounds = fs.existsSync(path.join(stateDir, 'results'))
      ? fs.readdirSync(path.join(stateDir, 'results')).filter((f) => /^round\d+\.log$/.test(f))
      : [];
    const logs = rounds
      .map((f) => `--- ${f} ---\n${fs.readFileSync(path.join(stateDir, 'results', f), 'utf8').slice(-4000)}`)
      .join('\n');
    if (code !== 0) console.log(`bench/chaos/run.sh exited ${String(code)}:\n${output.slice(-8000)}\n${logs}`);
    else
      console.log(
        output
          .split('\n')
          .filter((l) => /^(citus_version|round |fault|chaos:|all |-|kill|pause|stop|remove|partition)/.test(l))
          .join('\n'),
      );
    expect(code).toBe(0);
    expect(output).toMatch(new RegExp(`^chaos: ${ROUNDS} rounds, ${ROUNDS} repaired, 0 violations`, 'm'));
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
});
