/**
 * `up --json` prints one JSON document on stdout: the offline image build script (images/build.sh)
 * must not write there. A child process runs a script with the stdio preflight uses and the test
 * reads what reached the child's stdout and stderr.
 */
import { spawnSync } from 'node:child_process';
import { buildScriptStdio, type BuildOutput } from '../../client/preflight';

/** Runs `bash -c script` from a node child with buildScriptStdio(output); returns the node child's streams. */
function runWith(output: BuildOutput, script: string): { stdout: string; stderr: string } {
  const code =
    `require('node:child_process').spawnSync('bash', ['-c', ${JSON.stringify(script)}], { stdio: ` +
    `${JSON.stringify(buildScriptStdio(output))} });`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`node child failed: ${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

describe('images/build.sh output', () => {
  test("with --json (stderr): the script's stdout and stderr both reach stderr, stdout stays empty", () => {
    const r = runWith('stderr', 'echo building-image; echo warning >&2');
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('building-image');
    expect(r.stderr).toContain('warning');
  });

  test('without --json (inherit): the script writes to the terminal as before', () => {
    const r = runWith('inherit', 'echo building-image; echo warning >&2');
    expect(r.stdout).toContain('building-image');
    expect(r.stderr).toContain('warning');
  });

  test('the script gets no stdin (it cannot block on a prompt)', () => {
    const r = runWith('stderr', 'if read -t 1 line; then echo got-input; else echo no-input; fi');
    expect(r.stderr).toContain('no-input');
  });
});
