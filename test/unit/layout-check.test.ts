/**
 * The CI layout check (.ci/layout-check.js, run by `npm run depcheck`): SQL stays in lib/, and no
 * activity module builds another's activities. Planted examples must fail it; the tree must pass.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

interface LayoutCheck {
  check(root: string, known?: string[]): string[];
  sqlLiterals(fileName: string, source: string): Array<{ line: number; text: string }>;
  factoryImports(fileName: string, source: string): Array<{ line: number; name: string; from: string }>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const layout = require('../../.ci/layout-check.js') as LayoutCheck;

const repoRoot = path.join(__dirname, '..', '..');

const planted: string[] = [];
afterAll(() => planted.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

function plant(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'layout-check-'));
  planted.push(root);
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  }
  return root;
}

describe('SQL literals', () => {
  test('statements in strings and templates are found, with their line', () => {
    const src = [
      "const a = 'SELECT 1';",
      'const b = `UPDATE t SET x = ${1}`;',
      'const c = "PAUSE cluster";',
      "const d = 'CHECKPOINT';",
    ].join('\n');
    expect(layout.sqlLiterals('x.ts', src).map((s) => s.line)).toEqual([1, 2, 3, 4]);
  });

  test('prose and identifiers are not SQL', () => {
    const src = [
      "const a = 'Selected members';",
      "step('PAUSE (of an earlier attempt)');",
      "const c = 'set the member state';",
      "import { x } from './SELECT';",
    ].join('\n');
    expect(layout.sqlLiterals('x.ts', src)).toEqual([]);
  });
});

describe('activity factories', () => {
  test('an activity module importing another module’s create*Activities is found', () => {
    const src = "import { createRejoinActivities } from './rejoin';\nimport { ensureSlot } from './slots';\n";
    expect(layout.factoryImports('activities/failover/replication.ts', src)).toEqual([
      { line: 1, name: 'createRejoinActivities', from: './rejoin' },
    ]);
  });

  test('plain functions and factories from outside activities/ pass', () => {
    const src =
      "import { setMemberState } from '../members/state';\nimport { createClusterStore } from " +
      "'../../lib/cluster-store';\n";
    expect(layout.factoryImports('activities/failover/rejoin.ts', src)).toEqual([]);
  });
});

describe('the check over a tree', () => {
  test(
    'a planted SQL string and a planted factory import fail it; ' + 'lib/, test/ and activities/index.ts are exempt',
    () => {
      const root = plant({
        'activities/setup/bad.ts':
          "import { createEtcdActivities } from './etcd';\nexport const q = 'DROP TABLE demo';\n",
        'activities/index.ts': "import { createEtcdActivities } from './setup/etcd';\n",
        'lib/postgres/fine.ts': "export const q = 'SELECT 1';\n",
        'test/unit/fine.test.ts': "const q = 'SELECT 1';\n",
        'client/bad.ts': 'export const q = `SHOW POOLS`;\n',
      });
      const problems = layout.check(root, []);
      expect(problems).toHaveLength(3);
      expect(problems.join('\n')).toMatch(/activities\/setup\/bad\.ts:2: SQL outside lib/);
      expect(problems.join('\n')).toMatch(
        /activities\/setup\/bad\.ts:1: imports the activity factory createEtcdActivities/,
      );
      expect(problems.join('\n')).toMatch(/client\/bad\.ts:1: SQL outside lib/);
    },
  );

  test('a known finding passes; a known finding that is gone fails', () => {
    const root = plant({ 'client/bad.ts': "export const q = 'SHOW POOLS';\n" });
    expect(layout.check(root, ['client/bad.ts: SHOW POOLS'])).toEqual([]);
    expect(layout.check(root, ['client/bad.ts: SHOW POOLS', 'client/gone.ts: SELECT 1'])).toEqual([
      expect.stringMatching(/lists "client\/gone.ts: SELECT 1", which is fixed/),
    ]);
  });

  test('the tree passes', () => {
    expect(layout.check(repoRoot)).toEqual([]);
  });
});
