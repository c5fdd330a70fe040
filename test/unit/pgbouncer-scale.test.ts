import { parseSpec } from '../../common/spec';
import {
  pgbouncerFdLimit,
  pgbouncerProcesses,
  pgbouncerSocketDir,
  poolSizePerProcess,
} from '../../common/pgbouncer-layout';
import {
  PGBOUNCER_RUN_SCRIPT,
  pgbouncerFiles,
  pgbouncerIni,
  pgbouncerProcessConfig,
  pgbouncerProcessIni,
  pgbouncerRunScript,
} from '../../activities/setup/pgbouncer';
import { pgbouncerContainer } from '../../lib/docker/node-containers';
import { combineProcesses } from '../../lib/postgres/pgbouncer-admin';
import type { PoolView } from '../../common/health-observation';
import type { ClusterSecrets } from '../../lib/secrets';

const spec = (pgbouncer: Record<string, unknown> = {}) => parseSpec({ name: 'x', pgbouncer });
const setting = (ini: string, key: string) => new RegExp(`^${key}\\s*=\\s*(.*)$`, 'm').exec(ini)?.[1];

describe('PgBouncer sizing from the spec', () => {
  test('defaults: 10,000 clients per process, a pool of 20, one process', () => {
    const ini = pgbouncerIni(spec(), 'coord-a');
    expect(setting(ini, 'max_client_conn')).toBe('10000');
    expect(setting(ini, 'default_pool_size')).toBe('20');
    expect(setting(ini, 'max_db_connections')).toBe('20');
    expect(pgbouncerProcesses(spec())).toEqual([1]);
  });

  test('the pool is shared by the processes: 3 processes of a 20 pool get 6 each (never more than 20 in all)', () => {
    const s = spec({ processes: 3, poolSize: 20 });
    expect(poolSizePerProcess(s)).toBe(6);
    expect(setting(pgbouncerIni(s, 'h'), 'default_pool_size')).toBe('6');
    expect(poolSizePerProcess(s) * s.pgbouncer.processes).toBeLessThanOrEqual(s.pgbouncer.poolSize);
  });

  test('file-descriptor limit: every client of a process, its server connections and a reserve', () => {
    const s = spec({ maxClientConn: 12_000, poolSize: 20, processes: 2 });
    expect(pgbouncerFdLimit(s)).toBeGreaterThan(12_000 + 10);
    const c = pgbouncerContainer(s, 'img');
    expect(c.HostConfig?.Ulimits).toEqual([{ Name: 'nofile', Soft: pgbouncerFdLimit(s), Hard: pgbouncerFdLimit(s) }]);
    expect(c.Entrypoint).toEqual(['/bin/sh', PGBOUNCER_RUN_SCRIPT]);
  });
});

describe('client-side TLS', () => {
  test('TLS required of every client, with the certificate files every container has', () => {
    const ini = pgbouncerIni(spec(), 'coord-a');
    expect(setting(ini, 'client_tls_sslmode')).toBe('require');
    expect(setting(ini, 'client_tls_cert_file')).toBe('/citusctl/tls/server.crt');
    expect(setting(ini, 'client_tls_key_file')).toBe('/citusctl/tls/server.key');
    expect(setting(ini, 'client_tls_ca_file')).toBe('/citusctl/tls/ca.crt');
  });
});

describe('processes on one port', () => {
  const s = spec({ processes: 3 });

  test('so_reuseport in the shared file, which ends in [pgbouncer] (each process file continues it)', () => {
    const ini = pgbouncerIni(s, 'coord-a');
    expect(setting(ini, 'so_reuseport')).toBe('1');
    const sections = [...ini.matchAll(/^\[(\w+)\]$/gm)].map((m) => m[1]);
    expect(sections[sections.length - 1]).toBe('pgbouncer');
  });

  test('each process: the shared file, its peer id and socket, every process as a peer; no second [pgbouncer]', () => {
    const two = pgbouncerProcessConfig(s, 2);
    expect(two.split('\n').find((l) => l.startsWith('%include'))).toBe('%include /citusctl/pgbouncer.ini');
    expect(two).not.toMatch(/^\[pgbouncer\]/m);
    expect(setting(two, 'peer_id')).toBe('2');
    expect(setting(two, 'unix_socket_dir')).toBe(pgbouncerSocketDir(2));
    const peers = two.slice(two.indexOf('[peers]'));
    expect([1, 2, 3].map((p) => setting(peers, String(p)))).toEqual(
      [1, 2, 3].map((p) => `host=${pgbouncerSocketDir(p)}`),
    );
    expect(new Set([1, 2, 3].map(pgbouncerSocketDir)).size).toBe(3);
  });

  test('the files: shared config, auth file, run script and one config per process', () => {
    const files = pgbouncerFiles(s, 'coord-a', {
      appScramVerifier: 'A',
      pgbouncerAdminScramVerifier: 'B',
    } as ClusterSecrets);
    expect(Object.keys(files).sort()).toEqual(
      [
        '/citusctl/pgbouncer.ini',
        '/citusctl/userlist.txt',
        PGBOUNCER_RUN_SCRIPT,
        ...[1, 2, 3].map(pgbouncerProcessIni),
      ].sort(),
    );
    expect(files[PGBOUNCER_RUN_SCRIPT]!.mode).toBe(0o755);
  });

  test('the run script starts every process, forwards HUP and TERM, and exits when one dies', () => {
    const script = pgbouncerRunScript(s);
    expect(script).toContain(`for ini in ${[1, 2, 3].map(pgbouncerProcessIni).join(' ')}; do pgbouncer "$ini"`);
    expect(script).toMatch(/trap 'kill -HUP/);
    expect(script).toMatch(/trap 'kill -TERM/);
    expect(script).toMatch(/^#!\/bin\/sh$/m);
    expect(script).toMatch(/exit 1/);
    expect(script.split('\n')[0]).toBe('#!/bin/sh');
  });
});

describe('combineProcesses', () => {
  const pool = (o: Partial<PoolView>): PoolView => ({
    database: 'postgres',
    user: 'app',
    clActive: 0,
    clWaiting: 0,
    svActive: 0,
    svIdle: 0,
    svUsed: 0,
    maxWaitSeconds: 0,
    poolMode: 'transaction',
    ...o,
  });

  test('pools summed per database and user, the longest wait kept', () => {
    const r = combineProcesses([
      { database: { host: 'coord-a', paused: false }, pools: [pool({ clActive: 3, svActive: 2, maxWaitSeconds: 1 })] },
      { database: { host: 'coord-a', paused: false }, pools: [pool({ clActive: 4, svIdle: 5, maxWaitSeconds: 7 })] },
    ]);
    expect(r).toEqual({
      database: { host: 'coord-a', paused: false },
      pools: [pool({ clActive: 7, svActive: 2, svIdle: 5, maxWaitSeconds: 7 })],
    });
  });

  test('paused if any process is; processes that disagree on the host show both', () => {
    const r = combineProcesses([
      { database: { host: 'coord-a', paused: false }, pools: [] },
      { database: { host: 'coord-b', paused: true }, pools: [] },
    ]);
    expect(r.database).toEqual({ host: 'coord-a | coord-b', paused: true });
    expect(combineProcesses([{ database: null, pools: [] }]).database).toBeNull();
  });
});
