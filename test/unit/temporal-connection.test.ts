import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  connectFailure,
  describeSecurity,
  EMBEDDED_CONNECT_BUDGET_MS,
  retryConnect,
  externalNamespace,
  temporalConfigFile,
  temporalConnectOptions,
  type TemporalConnectOptions,
} from '../../lib/temporal-connection';
import { ensureTemporal } from '../../lib/temporal-server';

const external = { address: 'temporal.example:7233', embedded: false };
let dir: string;
/** An environment with its own HOME, so the user's real ~/.config/temporalio is never read. */
let base: NodeJS.ProcessEnv;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-connection-'));
  fs.mkdirSync(path.join(dir, 'home'));
  base = { HOME: path.join(dir, 'home'), TEMPORAL_ADDRESS: external.address };
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A file with distinct content, to see which one ended up where. */
function file(name: string, content = `${name} content`): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
}

/** The default profile file, ~/.config/temporalio/temporal.toml under the test's HOME. */
function defaultToml(toml: string): string {
  const p = path.join(dir, 'home', '.config', 'temporalio', 'temporal.toml');
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, toml);
  return p;
}

const text = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString() : undefined);
function tlsOf(opts: TemporalConnectOptions) {
  if (typeof opts.tls !== 'object') throw new Error(`tls is ${String(opts.tls)}, not a TLS configuration`);
  return {
    crt: text(opts.tls.clientCertPair?.crt),
    key: text(opts.tls.clientCertPair?.key),
    ca: text(opts.tls.serverRootCACertificate),
    serverName: opts.tls.serverNameOverride,
  };
}

describe('temporalConnectOptions', () => {
  test('the embedded dev server stays plain, whatever the environment says', () => {
    const env = { ...base, TEMPORAL_API_KEY: 'k', TEMPORAL_TLS_CLIENT_CERT_PATH: '/nonexistent' };
    expect(temporalConnectOptions({ address: '127.0.0.1:7233', embedded: true }, env)).toEqual({
      address: '127.0.0.1:7233',
    });
  });

  test('an external server without TLS or API key configured is plain, as before', () => {
    expect(temporalConnectOptions(external, base)).toEqual({ address: external.address });
  });

  test('mTLS from the TEMPORAL_TLS_* variables: certificate pair, CA and server name read from their files', () => {
    const env = {
      ...base,
      TEMPORAL_TLS_CLIENT_CERT_PATH: file('client.pem'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: file('client.key'),
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'frontend.internal',
    };
    const opts = temporalConnectOptions(external, env);
    expect(opts.address).toBe(external.address);
    expect(opts.apiKey).toBeUndefined();
    expect(tlsOf(opts)).toEqual({
      crt: 'client.pem content',
      key: 'client.key content',
      ca: 'ca.pem content',
      serverName: 'frontend.internal',
    });
    expect(describeSecurity(opts)).toBe('mTLS');
  });

  test('inline data variables work like the paths', () => {
    const env = { ...base, TEMPORAL_TLS_SERVER_CA_CERT_DATA: 'inline ca' };
    expect(tlsOf(temporalConnectOptions(external, env)).ca).toBe('inline ca');
  });

  test('an API key from the default profile file implies TLS; the namespace comes from the profile', () => {
    defaultToml('[profile.default]\napi_key = "secret-key"\nnamespace = "prod.a1b2c"\n');
    const opts = temporalConnectOptions(external, base);
    expect(opts.apiKey).toBe('secret-key');
    expect(opts.tls).toBe(true);
    expect(externalNamespace(base)).toBe('prod.a1b2c');
    expect(describeSecurity(opts)).toBe('TLS, API key');
  });

  test('TEMPORAL_PROFILE picks a profile of the file TEMPORAL_CONFIG_FILE names', () => {
    const ca = file('cloud-ca.pem');
    const config = file(
      'cfg.toml',
      `[profile.default]\nnamespace = "dev"\n\n[profile.cloud]\nnamespace = "cloud.ns"\n` +
        `[profile.cloud.tls]\nclient_cert_path = "${file('c.pem')}"\nclient_key_path = "${file('c.key')}"\n` +
        `server_ca_cert_path = "${ca}"\n`,
    );
    const env = { ...base, TEMPORAL_CONFIG_FILE: config, TEMPORAL_PROFILE: 'cloud' };
    expect(tlsOf(temporalConnectOptions(external, env))).toEqual({
      crt: 'c.pem content',
      key: 'c.key content',
      ca: 'cloud-ca.pem content',
      serverName: undefined,
    });
    expect(externalNamespace(env)).toBe('cloud.ns');
    expect(externalNamespace({ ...env, TEMPORAL_PROFILE: undefined })).toBe('dev');
  });

  test('the environment wins over the profile, key by key (as the Temporal CLI: flag > env > config file)', () => {
    defaultToml(
      '[profile.default]\napi_key = "from-file"\nnamespace = "file-ns"\n[profile.default.tls]\n' +
        `client_cert_path = "${file('file.pem')}"\nclient_key_path = "${file('file.key')}"\n` +
        `server_ca_cert_path = "${file('file-ca.pem')}"\nserver_name = "file-name"\n`,
    );
    const env = {
      ...base,
      TEMPORAL_API_KEY: 'from-env',
      TEMPORAL_NAMESPACE: 'env-ns',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('env-ca.pem'),
    };
    const opts = temporalConnectOptions(external, env);
    expect(opts.apiKey).toBe('from-env');
    expect(externalNamespace(env)).toBe('env-ns');
    // The CA from the environment; what the environment does not set stays the profile's.
    expect(tlsOf(opts)).toEqual({
      crt: 'file.pem content',
      key: 'file.key content',
      ca: 'env-ca.pem content',
      serverName: 'file-name',
    });
  });

  test('TLS disabled explicitly (TEMPORAL_TLS=false, or tls.disabled in the profile) even with an API key', () => {
    defaultToml('[profile.default]\napi_key = "k"\n');
    expect(temporalConnectOptions(external, { ...base, TEMPORAL_TLS: 'false' }).tls).toBe(false);
    defaultToml('[profile.default]\napi_key = "k"\n[profile.default.tls]\ndisabled = true\n');
    const opts = temporalConnectOptions(external, base);
    expect(opts.tls).toBe(false);
    expect(describeSecurity(opts)).toBe('plain, API key');
    // Enabled again from the environment over the profile.
    expect(temporalConnectOptions(external, { ...base, TEMPORAL_TLS: 'true' }).tls).toEqual(expect.any(Object));
  });

  test('a missing file named by a variable: an error naming the variable and the path', () => {
    const missing = path.join(dir, 'nope.pem');
    const env = { ...base, TEMPORAL_TLS_SERVER_CA_CERT_PATH: missing };
    expect(() => temporalConnectOptions(external, env)).toThrow(
      `TEMPORAL_TLS_SERVER_CA_CERT_PATH=${missing}: no such file`,
    );
  });

  test('a missing file named by the profile: the key, the path, the profile and its file', () => {
    const missing = path.join(dir, 'gone.key');
    const toml = defaultToml(
      `[profile.default.tls]\nclient_cert_path = "${file('c.pem')}"\nclient_key_path = "${missing}"\n`,
    );
    expect(() => temporalConnectOptions(external, base)).toThrow(
      `tls.client_key_path = "${missing}" (profile "default" of ${toml}): no such file`,
    );
  });

  test('an unreadable file (a directory here): an error naming the variable and the path', () => {
    const env = { ...base, TEMPORAL_TLS_CLIENT_CERT_PATH: dir, TEMPORAL_TLS_CLIENT_KEY_PATH: file('k') };
    expect(() => temporalConnectOptions(external, env)).toThrow(`TEMPORAL_TLS_CLIENT_CERT_PATH=${dir}: `);
  });

  test('half a client certificate pair is an error, not a silent connection without a certificate', () => {
    const env = { ...base, TEMPORAL_TLS_CLIENT_CERT_PATH: file('c.pem') };
    expect(() => temporalConnectOptions(external, env)).toThrow(/client certificate is configured without its key/);
  });

  test('files of a disabled TLS configuration are not read', () => {
    const env = { ...base, TEMPORAL_TLS: 'false', TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(dir, 'absent') };
    expect(temporalConnectOptions(external, env).tls).toBe(false);
  });

  test('TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is refused with what to do instead', () => {
    const env = { ...base, TEMPORAL_TLS: 'true', TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' };
    expect(() => temporalConnectOptions(external, env)).toThrow(/TEMPORAL_TLS_SERVER_NAME/);
  });

  test('a profile asked for but absent, and a config file named but missing, are errors naming them', () => {
    const toml = defaultToml('[profile.default]\nnamespace = "x"\n');
    expect(() => temporalConnectOptions(external, { ...base, TEMPORAL_PROFILE: 'cloud' })).toThrow(
      `Temporal client configuration ${toml}, profile "cloud": Profile 'cloud' not found`,
    );
    const missing = path.join(dir, 'none.toml');
    expect(() => temporalConnectOptions(external, { ...base, TEMPORAL_CONFIG_FILE: missing })).toThrow(
      `TEMPORAL_CONFIG_FILE=${missing}: no such file`,
    );
  });

  test('a malformed profile file is an error naming the file', () => {
    const toml = defaultToml('[profile.default\napi_key = \n');
    expect(() => temporalConnectOptions(external, base)).toThrow(`Temporal client configuration ${toml}`);
  });
});

describe('temporalConfigFile', () => {
  test('TEMPORAL_CONFIG_FILE, else XDG_CONFIG_HOME, else ~/.config (on Linux)', () => {
    if (os.platform() !== 'linux') return;
    expect(temporalConfigFile({ TEMPORAL_CONFIG_FILE: '/x.toml', HOME: '/h' })).toBe('/x.toml');
    expect(temporalConfigFile({ XDG_CONFIG_HOME: '/xdg', HOME: '/h' })).toBe('/xdg/temporalio/temporal.toml');
    expect(temporalConfigFile({ HOME: '/h' })).toBe('/h/.config/temporalio/temporal.toml');
  });
});

describe('ensureTemporal with TEMPORAL_ADDRESS', () => {
  test('the namespace of the profile applies to the external server', async () => {
    defaultToml('[profile.default]\nnamespace = "cloud.ns"\n');
    const endpoint = await ensureTemporal(path.join(dir, 'state'), base);
    expect(endpoint).toEqual({ address: external.address, namespace: 'cloud.ns', embedded: false });
  });
});

describe('connectFailure', () => {
  test("one message from the SDK's error and its causes, naming the address", async () => {
    const grpc = new Error('16 UNAUTHENTICATED: invalid API key');
    const sdk = new Error('Failed to connect to Temporal server', { cause: grpc });
    const err = await connectFailure({ address: 'h:7233', apiKey: 'k' }, sdk);
    expect(err.message).toBe(
      'cannot connect to Temporal at h:7233: Failed to connect to Temporal server: 16 UNAUTHENTICATED: invalid API key',
    );
    expect(err.message).not.toContain(': k');
  });
});

describe('retryConnect', () => {
  const embedded = { address: '127.0.0.1:7233', embedded: true };
  const deadline = new Error('Failed to connect before the deadline');
  test('tries the embedded server again while it does not answer yet, within the budget', () => {
    expect(retryConnect(embedded, deadline, 0)).toBe(true);
    expect(
      retryConnect(embedded, new Error('x', { cause: new Error('14 UNAVAILABLE: No connection established') }), 5_000),
    ).toBe(true);
    expect(retryConnect(embedded, deadline, EMBEDDED_CONNECT_BUDGET_MS)).toBe(false);
    // The worker's native connection, as seen by a host worker started beside a server coming up.
    const reset =
      'Failed to call GetSystemInfo: code: \'Unknown error\', message: "transport error", source: ' +
      'tonic::transport::Error(Transport, hyper::Error(Io, Kind(ConnectionReset)))';
    expect(retryConnect(embedded, new Error(reset), 1_000)).toBe(true);
  });
  test('reports an external server, or a refusal, at once', () => {
    expect(retryConnect({ ...embedded, embedded: false }, deadline, 0)).toBe(false);
    expect(retryConnect(embedded, new Error('16 UNAUTHENTICATED: invalid API key'), 0)).toBe(false);
  });
});
