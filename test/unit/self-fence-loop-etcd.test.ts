/**
 * The self-fence loop's etcd: asked for its clients at each round when given a function (a host's
 * worker starts before `up` has written the cluster's TLS files, and a client made at its start would
 * never reach the secured etcd: the loop would never know a primary, nor fence one); with one client
 * per member, a member gone does not make etcd look lost while another answers (a healthy host would
 * then fence its primaries whenever some other host dies).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Docker from 'dockerode';
import type { Etcd3 } from 'etcd3';
import { primaryKey } from '../../common/etcd-keys';
import { startSelfFenceLoop } from '../../worker/self-fence-loop';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An etcd client whose reads of the groups' keys answer `primaries` (g1 -> member), or never. */
const fakeEtcd = (primaries: Record<string, string> | 'never') =>
  ({
    getAll: () => ({
      prefix: () => ({
        strings: () =>
          primaries === 'never'
            ? new Promise(() => undefined)
            : Promise.resolve(Object.fromEntries(Object.entries(primaries).map(([g, m]) => [primaryKey('sf', g), m]))),
      }),
    }),
  }) as unknown as Etcd3;

it('a function for etcd is asked again at every round', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-etcd-'));
  let asked = 0;
  const loop = startSelfFenceLoop({
    cluster: 'sf',
    host: 'h1',
    hostCount: 2,
    groups: ['g1'],
    members: [],
    docker: {} as Docker,
    etcd: (): Etcd3 => {
      asked++;
      throw new Error('no TLS files yet');
    },
    peers: [],
    journalPath: path.join(dir, 'journal.json'),
    timings: { probeIntervalMs: 5, probeTimeoutMs: 50, stopBudgetMs: 10 },
    fenceAfterMs: 1000,
    log: () => undefined,
  });
  await sleep(200);
  await loop.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  expect(asked).toBeGreaterThan(2);
});

it('etcd is reached while any member answers, not lost because another never does', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-etcd-'));
  const rounds: boolean[] = [];
  const loop = startSelfFenceLoop({
    cluster: 'sf',
    host: 'h1',
    hostCount: 3,
    groups: ['g1'],
    members: [],
    docker: {} as Docker,
    etcd: () => [fakeEtcd('never'), fakeEtcd({ g1: 'g1-a' })],
    peers: [],
    journalPath: path.join(dir, 'journal.json'),
    timings: { probeIntervalMs: 5, probeTimeoutMs: 50, stopBudgetMs: 10 },
    fenceAfterMs: 1000,
    log: () => undefined,
    onEvent: (e) => (e.kind === 'round' ? rounds.push(e.etcdOk) : undefined),
  });
  await sleep(200);
  await loop.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  expect(rounds.length).toBeGreaterThan(2);
  expect(rounds.every(Boolean)).toBe(true);
});
