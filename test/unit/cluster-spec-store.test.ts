/**
 * The spec stored with the cluster: the state-directory file (written only when it changes,
 * mode 0600, read back as written), the etcd key it also goes to, and how a CLI start names the
 * cluster and group of a workflow input for its search attributes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { clusterAndGroupOf } from '../../client/search-attributes';
import { specKey } from '../../common/etcd-keys';
import { parseSpec } from '../../common/spec';
import { readClusterSpec, writeClusterSpec } from '../../lib/cluster-spec-file';
import { specPath } from '../../lib/state-dir';

describe('the stored spec in the state directory', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-spec-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('written once, read back equal, owner-only, rewritten only when it changes', async () => {
    const spec = parseSpec({ name: 'demo' });
    expect(await readClusterSpec(root, 'demo')).toBeUndefined();
    expect(await writeClusterSpec(root, 'demo', spec)).toBe(true);
    expect(specPath(root, 'demo')).toBe(path.join(root, 'clusters', 'demo', 'spec.json'));
    expect(fs.statSync(specPath(root, 'demo')).mode & 0o777).toBe(0o600);
    expect(parseSpec(await readClusterSpec(root, 'demo'))).toEqual(spec);
    expect(await writeClusterSpec(root, 'demo', spec)).toBe(false);
    expect(await writeClusterSpec(root, 'demo', { ...spec, images: { postgres: 'x:1' } })).toBe(true);
    expect(((await readClusterSpec(root, 'demo')) as { images: unknown }).images).toEqual({ postgres: 'x:1' });
    expect(fs.readdirSync(path.dirname(specPath(root, 'demo'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('the etcd key sits under the cluster prefix', () => {
    expect(specKey('demo')).toBe('/citusctl/demo/spec');
  });
});

describe('clusterAndGroupOf (search attributes of a CLI start)', () => {
  const spec = parseSpec({ name: 'demo' });
  test.each([
    [{ spec, clean: false }, { cluster: 'demo' }],
    [
      { spec, group: 'g1' },
      { cluster: 'demo', group: 'g1' },
    ],
    [
      { spec, member: 'g2-b' },
      { cluster: 'demo', group: 'g2' },
    ],
    [
      { cluster: 'shop', group: 'coordinator' },
      { cluster: 'shop', group: 'coordinator' },
    ],
    [{ cluster: 'shop', member: 'g1-a' }, { cluster: 'shop' }],
    [{ spec, member: 'unknown' }, { cluster: 'demo' }],
  ])('%j', (input, expected) => {
    expect(clusterAndGroupOf(input)).toEqual(expected);
  });

  test('nothing to name', () => {
    expect(clusterAndGroupOf(undefined)).toBeUndefined();
    expect(clusterAndGroupOf({})).toBeUndefined();
    expect(clusterAndGroupOf({ spec: {} })).toBeUndefined();
  });
});
