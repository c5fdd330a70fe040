import { describe, expect, it } from '@jest/globals';
import type { ResolvedHost } from '../../common/hosts';
import { withWorkerEngine } from '../../worker/host-engine';

const tls = { caFile: '/etc/c/ca.pem', certFile: '/etc/c/cert.pem', keyFile: '/etc/c/key.pem' };
const h1: ResolvedHost = { name: 'h1', endpoint: 'tcp://10.0.0.1:2376', address: '10.0.0.1', tls };

describe('citusctl worker --host NAME --engine ENDPOINT', () => {
  it("without --engine: the spec's endpoint", () => {
    expect(withWorkerEngine(h1, undefined)).toBe(h1);
  });

  it('the local socket: only the endpoint changes (the address others reach the host at stays)', () => {
    expect(withWorkerEngine(h1, 'unix:///var/run/docker.sock')).toEqual({
      ...h1,
      endpoint: 'unix:///var/run/docker.sock',
    });
  });

  it("tcp:// with the spec host's TLS files", () => {
    expect(withWorkerEngine(h1, 'tcp://127.0.0.1:2376').endpoint).toBe('tcp://127.0.0.1:2376');
  });

  it('tcp:// for a host without TLS files: refused', () => {
    const ssh: ResolvedHost = { name: 'h2', endpoint: 'ssh://docker@10.0.0.2', address: '10.0.0.2' };
    expect(() => withWorkerEngine(ssh, 'tcp://127.0.0.1:2376')).toThrow(/host h2 has no tls files/);
  });

  it('not an endpoint: refused, naming --engine', () => {
    expect(() => withWorkerEngine(h1, '/var/run/docker.sock')).toThrow(/^--engine: .* is none of unix:/);
    expect(() => withWorkerEngine(h1, 'tcp://127.0.0.1:0')).toThrow(/^--engine: port 0/);
  });
});
