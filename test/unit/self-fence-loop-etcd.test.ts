/**
 * The self-fence loop asks for its etcd client at each round when given a function: a host's worker
 * starts before `up` has written the cluster's TLS files, and a client made at its start would never
 * reach the secured etcd (so the loop would never know a primary, and never fence one).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Docker from 'dockerode';
import type { Etcd3 } from 'etcd3';
import { startSelfFenceLoop } from '../../worker/self-fence-loop';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
