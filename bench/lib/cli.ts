/**
 * Runs the built CLI (`node dist/client/cli.js ARGS -c SPEC --json`) as a child process: parsed
 * JSON document, exit code, spawn/exit times, stderr (the progress lines), and a way to kill it
 * mid-run (the chaos run kills the orchestrating process on purpose).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { now } from './util';

export interface CliStep {
  name: string;
  state: string;
  startedAt?: number;
  endedAt?: number;
  detail?: string;
}

export interface CliDoc {
  ok?: boolean;
  error?: string;
  result?: Record<string, unknown>;
  steps?: CliStep[];
  [key: string]: unknown;
}

export interface CliResult {
  args: string[];
  /** Exit code; null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  doc: CliDoc;
  tSpawn: number;
  tExit: number;
  stderr: string;
  /** Lines printed on stdout before the JSON document (the Temporal SDK's core logs there at times). */
  junk: string[];
}

export interface CliRun {
  child: ChildProcess;
  args: string[];
  tSpawn: number;
  /** Resolves when a stderr line matches (or never). */
  waitForLine(re: RegExp): Promise<string>;
  done: Promise<CliResult>;
  kill(signal?: NodeJS.Signals): void;
}

export interface CliOptions {
  root: string;
  /** The spec file passed as `-c`; '' passes none (e.g. `restore` without --config picks free ports). */
  spec: string;
  /** Directory for `<tag>.json` / `<tag>.err`. */
  outDir: string;
  /** Killed (SIGKILL) after this long; default 10 minutes. */
  timeoutMs?: number;
}

function parseDoc(out: string, code: number | null, stderr: string): { doc: CliDoc; junk: string[] } {
  try {
    return { doc: JSON.parse(out) as CliDoc, junk: [] };
  } catch {
    const at = out.search(/^\{/m);
    try {
      if (at < 0) throw new Error('no JSON');
      return { doc: JSON.parse(out.slice(at)) as CliDoc, junk: out.slice(0, at).split('\n').filter(Boolean) };
    } catch {
      const tail = stderr.trim().split('\n').slice(-3).join(' | ');
      return { doc: { ok: false, error: `no JSON document (exit ${String(code)}): ${tail}` }, junk: [] };
    }
  }
}

export function startCli(o: CliOptions, args: string[], tag?: string): CliRun {
  const tSpawn = now();
  const child = spawn(
    process.execPath,
    [path.join(o.root, 'dist/client/cli.js'), ...args, ...(o.spec ? ['-c', o.spec] : []), '--json'],
    {
      cwd: o.root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  // as it comes: a hung run can be read
  const errFile = tag ? fs.createWriteStream(path.join(o.outDir, `${tag}.err`)) : undefined;
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => {
    const before = err.length;
    err += d.toString();
    errFile?.write(d);
    const fresh = err.slice(err.lastIndexOf('\n', before) + 1).split('\n');
    for (const line of fresh) {
      for (const w of [...waiters]) {
        if (w.re.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 10 * 60_000);
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const tExit = now();
      if (tag) fs.writeFileSync(path.join(o.outDir, `${tag}.json`), out);
      errFile?.end();
      const parsed = signal ? { doc: { ok: false, error: `killed by ${signal}` }, junk: [] } : parseDoc(out, code, err);
      resolve({ args, code, signal, doc: parsed.doc, tSpawn, tExit, stderr: err, junk: parsed.junk });
    });
  });
  return {
    child,
    args,
    tSpawn,
    done,
    waitForLine: (re) => new Promise((resolve) => waiters.push({ re, resolve })),
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

export const runCli = (o: CliOptions, args: string[], tag?: string): Promise<CliResult> => startCli(o, args, tag).done;

/** The steps of a CLI report by name (only those that started). */
export function stepsByName(doc: CliDoc): Record<string, CliStep> {
  return Object.fromEntries((doc.steps ?? []).filter((s) => s.startedAt !== undefined).map((s) => [s.name, s]));
}

export const stepMs = (s: CliStep | undefined): number | undefined =>
  s?.startedAt !== undefined && s.endedAt !== undefined ? s.endedAt - s.startedAt : undefined;
