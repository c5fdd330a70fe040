/**
 * The worker's long-lived etcd client (lib/etcd-auth.ts options) against a real etcd with TLS and
 * authentication on (support/tls-etcd.ts): stopped for 15 s and started again, the same client answers again instead of
 * leaving every call pending (etcd3's default circuit breaker did, with auth on). Own container
 * (citusctl-it-etcd-client-etcd, label citusctl.it-probe), port 31960.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Etcd3 } from 'etcd3';
import { etcdClientOptions, secureEtcd } from '../../lib/etcd-auth';
import { docker, sleep } from './support/cluster';
import { startTlsEtcd, type TlsEtcd } from './support/tls-etcd';

jest.setTimeout(3 * 60_000);

const PORT = 31960;
const PASSWORD = 'it-etcd-client-password';

async function answers(client: Etcd3, withinMs: number): Promise<boolean> {
  const call = client
    .get('/probe')
    .string()
    .then(
      () => true,
      () => false,
    );
  return Promise.race([call, sleep(withinMs).then(() => false)]);
}

describe('the long-lived etcd client', () => {
  let client: Etcd3;
  let etcd: TlsEtcd;

  beforeAll(async () => {
    etcd = await startTlsEtcd('it-etcd-client', PORT);
    for (let i = 0; ; i++) {
      try {
        await secureEtcd(PORT, PASSWORD, etcd.tls);
        break;
      } catch (err) {
        if (i > 50) throw err;
        await sleep(200);
      }
    }
    client = new Etcd3(etcdClientOptions(PORT, { tls: etcd.tls, password: PASSWORD }));
  });

  afterAll(async () => {
    client?.close();
    await etcd?.remove();
  });

  it('answers again after etcd was down for 15 s (authenticated)', async () => {
    expect(await answers(client, 5000)).toBe(true);
    await docker.getContainer(etcd.name).stop({ t: 0 });
    for (let i = 0; i < 15; i++) {
      expect(await answers(client, 1500)).toBe(false); // down: calls fail or time out, none answers
      await sleep(1000);
    }
    await docker.getContainer(etcd.name).start();
    let back = false;
    for (let i = 0; i < 30 && !back; i++) back = await answers(client, 2000);
    expect(back).toBe(true);
  });
});
