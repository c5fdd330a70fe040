/**
 * The integration tests' simulated-host support (test/integration/support: sim-hosts.ts,
 * host-workers.ts, isolated-writer.ts, tcp-forward.ts, and the layout of cluster.ts), loaded from
 * its TypeScript sources. Compiled into dist/ it would not work: those modules find their files
 * from their own directory in the source tree (test/sim-hosts/build.sh; the repository root, hence
 * dist/client/cli.js), which dist/test/ does not mirror. So `.ts` files are transpiled as they are
 * required (no type check here: `npm run build` and tsc check them), and the modules are the
 * tests' own, not copies.
 */
import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import ts from 'typescript';
import type * as Cluster from '../../test/integration/support/cluster';
import type * as HostWorkers from '../../test/integration/support/host-workers';
import type * as IsolatedWriters from '../../test/integration/support/isolated-writer';
import type * as SimHosts from '../../test/integration/support/sim-hosts';
import type * as TcpForwards from '../../test/integration/support/tcp-forward';
import { ROOT } from './bench-main';

type Loader = (m: { _compile(code: string, file: string): void }, file: string) => void;
const extensions = (Module as unknown as { _extensions: Record<string, Loader> })._extensions;
extensions['.ts'] ??= (m, file) =>
  m._compile(
    ts.transpileModule(fs.readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText,
    file,
  );

const load = Module.createRequire(__filename);
const source = <T>(file: string): T => load(path.join(ROOT, 'test', 'integration', 'support', file)) as T;

export const simHosts = source<typeof SimHosts>('sim-hosts.ts');
export const hostWorkers = source<typeof HostWorkers>('host-workers.ts');
export const testCluster = source<typeof Cluster>('cluster.ts');
export const isolatedWriters = source<typeof IsolatedWriters>('isolated-writer.ts');
export const tcpForward = source<typeof TcpForwards>('tcp-forward.ts');
export type { SimHost } from '../../test/integration/support/sim-hosts';
export type { IsolatedWriter } from '../../test/integration/support/isolated-writer';
export type { TcpForward } from '../../test/integration/support/tcp-forward';
