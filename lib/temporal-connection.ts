/**
 * How to connect to Temporal: the options every `Connection.connect` and `NativeConnection.connect`
 * takes, from Temporal's own client configuration as the Temporal CLI reads it (the SDK's
 * @temporalio/envconfig): the TEMPORAL_* environment variables over a profile (TEMPORAL_PROFILE,
 * default "default") of the TOML file (TEMPORAL_CONFIG_FILE, default ~/.config/temporalio/temporal.toml).
 * An API key implies TLS unless TLS is disabled. Only an external server (TEMPORAL_ADDRESS) is
 * configured so; the embedded dev server is plain. Key material is read at each connect, from the
 * files the configuration names, so a renewed certificate is used by the next connection; it is
 * never logged nor passed on: a worker process reads the same configuration itself.
 */
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';

/** What both connection classes take (a subset of ConnectionOptions and NativeConnectionOptions). */
export interface TemporalConnectOptions {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
}

/** The server to connect to: its address, and whether it is the embedded dev server. */
export interface TemporalTarget {
  address: string;
  embedded: boolean;
}

type Env = NodeJS.ProcessEnv;

/** The file a profile is read from: TEMPORAL_CONFIG_FILE, else the user's config directory (as the SDK). */
export function temporalConfigFile(env: Env): string | undefined {
  if (env.TEMPORAL_CONFIG_FILE) return env.TEMPORAL_CONFIG_FILE;
  const home = env.HOME;
  if (os.platform() === 'darwin')
    return home ? path.join(home, 'Library', 'Application Support', 'temporalio', 'temporal.toml') : undefined;
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg) return path.isAbsolute(xdg) ? path.join(xdg, 'temporalio', 'temporal.toml') : undefined;
  return home ? path.join(home, '.config', 'temporalio', 'temporal.toml') : undefined;
}

/** The profile with the environment applied over it; an error names the file and the profile. */
export function temporalProfile(env: Env): ClientConfigProfile {
  const file = temporalConfigFile(env);
  // The SDK skips a missing file silently; one named explicitly is a mistake worth saying.
  if (env.TEMPORAL_CONFIG_FILE && !fs.existsSync(env.TEMPORAL_CONFIG_FILE))
    throw new Error(`TEMPORAL_CONFIG_FILE=${env.TEMPORAL_CONFIG_FILE}: no such file`);
  try {
    return loadClientConfigProfile({ overrideEnvVars: definedOnly(env) });
  } catch (err) {
    const profile = env.TEMPORAL_PROFILE || 'default';
    throw new Error(`Temporal client configuration ${file ?? '(no file)'}, profile "${profile}": ${message(err)}`);
  }
}

/** The namespace on an external server: TEMPORAL_NAMESPACE, else the profile's, else "default". */
export function externalNamespace(env: Env): string {
  return temporalProfile(env).namespace || 'default';
}

/**
 * The connect options for `target`. A TLS file named but missing or unreadable is an error naming the
 * variable (or the profile key) and the path, raised here, before any connection is tried.
 */
export function temporalConnectOptions(target: TemporalTarget, env: Env): TemporalConnectOptions {
  if (target.embedded) return { address: target.address };
  const profile = temporalProfile(env);
  if (envFlag(env.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION))
    throw new Error(
      'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported by the TypeScript SDK: set ' +
        'TEMPORAL_TLS_SERVER_NAME to the name in the server certificate instead',
    );
  const tls = profile.tls && { ...profile.tls };
  if (tls && !tls.disabled) {
    const where = (envVar: string, key: string) => namedBy(env, envVar, key);
    tls.clientCert = readNamed(tls.clientCert, where('TEMPORAL_TLS_CLIENT_CERT_PATH', 'tls.client_cert_path'));
    tls.clientKey = readNamed(tls.clientKey, where('TEMPORAL_TLS_CLIENT_KEY_PATH', 'tls.client_key_path'));
    tls.serverCACert = readNamed(
      tls.serverCACert,
      where('TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'tls.server_ca_cert_path'),
    );
    // The SDK drops half a pair silently (and the server then refuses a client without a certificate).
    if (!tls.clientCert !== !tls.clientKey) {
      const [has, lacks] = tls.clientCert
        ? ['certificate', 'key (TEMPORAL_TLS_CLIENT_KEY_PATH or tls.client_key_path)']
        : ['key', 'certificate (TEMPORAL_TLS_CLIENT_CERT_PATH or tls.client_cert_path)'];
      throw new Error(`a client ${has} is configured without its ${lacks}`);
    }
  }
  const { connectionOptions } = toClientOptions({ ...profile, tls });
  const { tls: tlsOption, apiKey, metadata } = connectionOptions;
  return {
    address: target.address,
    ...(tlsOption !== undefined && tlsOption !== null ? { tls: tlsOption } : {}),
    ...(apiKey ? { apiKey } : {}),
    ...(metadata && Object.keys(metadata).length ? { metadata: metadata as Record<string, string> } : {}),
  };
}

/** How a connection is secured, for log lines: never the material itself. */
export function describeSecurity(opts: TemporalConnectOptions): string {
  const tls = opts.tls === true ? {} : opts.tls || undefined;
  const parts = [tls ? (tls.clientCertPair ? 'mTLS' : 'TLS') : 'plain'];
  if (opts.apiKey) parts.push('API key');
  return parts.join(', ');
}

type Source = NonNullable<NonNullable<ClientConfigProfile['tls']>['clientCert']>;

/** A file source read now (inline data is kept as it is). */
function readNamed(source: Source | undefined, by: (file: string) => string): Source | undefined {
  if (!source || !('path' in source)) return source;
  try {
    return { data: fs.readFileSync(source.path) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not readable' : message(err);
    throw new Error(`${by(source.path)}: ${why}`);
  }
}

/** How long a connection to the embedded server is tried again (see retryConnect). */
export const EMBEDDED_CONNECT_BUDGET_MS = 120_000;

/**
 * Whether a failed connect is tried again: only to the embedded dev server, which accepts TCP on
 * its port before its frontend answers gRPC (on a loaded machine, for longer than one connect's
 * deadline), and only while the failure is one of reaching it (a missed deadline, unavailable), for
 * EMBEDDED_CONNECT_BUDGET_MS in all. An external server's failure is reported at once: its address,
 * TLS or API key are the user's to fix.
 */
export function retryConnect(target: TemporalTarget, err: unknown, elapsedMs: number): boolean {
  if (!target.embedded || elapsedMs >= EMBEDDED_CONNECT_BUDGET_MS) return false;
  const text: string[] = [];
  for (let e: unknown = err; e !== undefined && text.length < 5; e = (e as { cause?: unknown }).cause) {
    text.push(message(e));
    if (!(e instanceof Error)) break;
  }
  // The worker's (Rust) connection says "transport error ... ConnectionReset" where Node's says ECONNRESET.
  return /deadline|UNAVAILABLE|ECONNREFUSED|ECONNRESET|ConnectionRe(set|fused)|transport error/i.test(text.join(' '));
}

/** The environment variable when it is set (it wins), else the key of the profile in its file. */
function namedBy(env: Env, envVar: string, key: string): (file: string) => string {
  if (env[envVar] !== undefined) return (file) => `${envVar}=${file}`;
  const profile = `profile "${env.TEMPORAL_PROFILE || 'default'}" of ${temporalConfigFile(env) ?? '?'}`;
  return (file) => `${key} = "${file}" (${profile})`;
}

const envFlag = (value: string | undefined) => value === '1' || value === 'true';

function definedOnly(env: Env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Why a connection failed, in one message: the SDK's error with its causes and, when TLS is
 * configured, the TLS handshake's own reason (the gRPC library reports only a missed deadline when
 * the server's certificate is not trusted or the client's is refused).
 */
export async function connectFailure(opts: TemporalConnectOptions, err: unknown): Promise<Error> {
  const messages: string[] = [];
  for (let e: unknown = err; e !== undefined && messages.length < 5; e = (e as { cause?: unknown }).cause) {
    const m = message(e);
    if (m && !messages.some((seen) => seen.includes(m))) messages.push(m);
    if (!(e instanceof Error)) break;
  }
  const tlsWhy = opts.tls ? await tlsHandshakeFailure(opts) : undefined;
  const hint = tlsWhy
    ? `; TLS handshake with ${opts.address}: ${tlsWhy} (Temporal's client configuration: the server CA ` +
      'TEMPORAL_TLS_SERVER_CA_CERT_PATH / tls.server_ca_cert_path, the name TEMPORAL_TLS_SERVER_NAME, the ' +
      'client certificate TEMPORAL_TLS_CLIENT_CERT_PATH)'
    : '';
  return new Error(`cannot connect to Temporal at ${opts.address}: ${messages.join(': ')}${hint}`, { cause: err });
}

/** A TLS handshake as the connection would make it; its error, or undefined when it succeeds. */
function tlsHandshakeFailure(opts: TemporalConnectOptions, timeoutMs = 5_000): Promise<string | undefined> {
  const cfg = opts.tls === true ? {} : opts.tls || {};
  const colon = opts.address.lastIndexOf(':');
  const host = opts.address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(opts.address.slice(colon + 1));
  const servername = cfg.serverNameOverride ?? (net.isIP(host) ? undefined : host);
  return new Promise((resolve) => {
    const socket = tls.connect({
      host,
      port,
      ALPNProtocols: ['h2'],
      ...(servername ? { servername } : {}),
      ...(cfg.serverRootCACertificate ? { ca: Buffer.from(cfg.serverRootCACertificate) } : {}),
      ...(cfg.clientCertPair
        ? { cert: Buffer.from(cfg.clientCertPair.crt), key: Buffer.from(cfg.clientCertPair.key) }
        : {}),
    });
    let settled = false;
    const done = (why: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once('error', (e) => done(message(e)));
    // With TLS 1.3 the server refuses a client certificate after the client's side of the handshake.
    socket.once('secureConnect', () => {
      socket.resume(); // reads the server's alert, if one comes
      socket.once('close', () =>
        done('the server closed the connection after the handshake (client certificate refused?)'),
      );
      setTimeout(() => done(undefined), 500).unref();
    });
  });
}
