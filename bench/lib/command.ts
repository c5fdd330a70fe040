/** Child processes of the benches. */
import { spawn } from 'node:child_process';

/** Runs a command to its end; its stdout, or a rejection with its last output lines. */
export function runCommand(cmd: string, args: string[], extraEnv: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...extraEnv } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(
            new Error(
              `${cmd} ${args.slice(0, 4).join(' ')}: exit ${String(code)}: ` +
                (err + out).trim().split('\n').slice(-3).join(' | '),
            ),
          ),
    );
  });
}
