/**
 * The Docker hosts of a spec: what each `hosts:` entry may say and how its endpoint reads. Pure and
 * workflow-safe (no URL parser: plain patterns), imported by spec.ts, which must not be imported back.
 *
 * A spec without `hosts` has one implicit host, `local`: the Docker engine of the local socket
 * (whatever `new Docker()` reaches, DOCKER_HOST included), exactly as before hosts existed.
 */
import { z } from 'zod';

/** The implicit host of a spec without `hosts`, and the one name a listed host may take only for a local socket. */
export const LOCAL_HOST = 'local';
export const DEFAULT_SOCKET = '/var/run/docker.sock';
export const DEFAULT_SSH_PORT = 22;

export type HostEndpoint =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'ssh'; user: string; host: string; port: number };

/** An address: a DNS name, an IPv4 address or a bracketed IPv6 address (brackets kept off the result). */
const ADDRESS = String.raw`(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])`;
const UNIX_RE = /^unix:\/\/(\/[^\0\s]*)$/;
const TCP_RE = new RegExp(`^tcp://(${ADDRESS}):(\\d{1,5})$`);
const SSH_RE = new RegExp(`^ssh://([a-z_][a-z0-9_.-]{0,31})@(${ADDRESS})(?::(\\d{1,5}))?$`);

const unbracket = (a: string) => (a.startsWith('[') ? a.slice(1, -1) : a);
const validPort = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65535;

/** The endpoint's parts, or why it cannot be read. */
export function parseEndpoint(endpoint: string): { ok: true; endpoint: HostEndpoint } | { ok: false; error: string } {
  const unix = UNIX_RE.exec(endpoint);
  if (unix) return { ok: true, endpoint: { kind: 'unix', socketPath: unix[1]! } };
  const tcp = TCP_RE.exec(endpoint);
  if (tcp) {
    const port = Number(tcp[2]);
    if (!validPort(port)) return { ok: false, error: `port ${tcp[2]} is not 1-65535` };
    return { ok: true, endpoint: { kind: 'tcp', host: unbracket(tcp[1]!), port } };
  }
  const ssh = SSH_RE.exec(endpoint);
  if (ssh) {
    const port = ssh[3] === undefined ? DEFAULT_SSH_PORT : Number(ssh[3]);
    if (!validPort(port)) return { ok: false, error: `port ${ssh[3]} is not 1-65535` };
    return { ok: true, endpoint: { kind: 'ssh', user: ssh[1]!, host: unbracket(ssh[2]!), port } };
  }
  return {
    ok: false,
    error:
      `"${endpoint}" is none of unix:///path/to/docker.sock, tcp://address:port (with tls) ` +
      'or ssh://user@address[:port]',
  };
}

/** The address other hosts reach this one's published ports on, when the spec gives none: the endpoint's host. */
export function defaultAddress(endpoint: string): string | undefined {
  const r = parseEndpoint(endpoint);
  return r.ok && r.endpoint.kind !== 'unix' ? r.endpoint.host : undefined;
}

const absolutePath = z.string().regex(/^\/[^\0]*$/, 'must be an absolute path');

/** One Docker engine. Cross-field rules (tls with tcp only, address for a socket) are in hostErrors. */
export const hostSchema = z.strictObject({
  name: z
    .string()
    .regex(
      /^[a-z][a-z0-9-]{0,29}[a-z0-9]$|^[a-z]$/,
      'must be 1-31 characters of a-z, 0-9 and "-", starting with a letter',
    ),
  /** unix:///path (default: the local socket), tcp://address:port (TLS required) or ssh://user@address[:port]. */
  endpoint: z.string().default(`unix://${DEFAULT_SOCKET}`),
  /** Where the other hosts reach the ports this host publishes (default: the endpoint's address). */
  address: z
    .string()
    .regex(new RegExp(`^${ADDRESS}$`), 'must be a DNS name or an IP address')
    .optional(),
  /** The engine's TLS client files (a tcp:// endpoint requires them): read by the worker, never copied. */
  tls: z.strictObject({ caFile: absolutePath, certFile: absolutePath, keyFile: absolutePath }).optional(),
});
export type HostSpec = z.output<typeof hostSchema>;

/** The rules between a host's fields and between hosts; each message names its field (`hosts[i]...`). */
export function hostErrors(hosts: readonly HostSpec[]): string[] {
  const errors: string[] = [];
  const seen = new Map<string, number>();
  hosts.forEach((h, i) => {
    const field = `hosts[${i}]`;
    if (seen.has(h.name)) errors.push(`${field}.name: duplicate host "${h.name}" (also hosts[${seen.get(h.name)}])`);
    else seen.set(h.name, i);
    const parsed = parseEndpoint(h.endpoint);
    if (!parsed.ok) {
      errors.push(`${field}.endpoint: ${parsed.error}`);
      return;
    }
    const kind = parsed.endpoint.kind;
    if (h.name === LOCAL_HOST && kind !== 'unix')
      errors.push(`${field}.name: "${LOCAL_HOST}" is reserved for a local socket (unix://) endpoint`);
    if (kind === 'tcp' && !h.tls)
      errors.push(`${field}.tls: a tcp:// endpoint needs TLS (caFile, certFile, keyFile): a plain one gives root away`);
    if (kind !== 'tcp' && h.tls) errors.push(`${field}.tls: only a tcp:// endpoint uses TLS files (this is ${kind})`);
    if (kind === 'unix' && !h.address && hosts.length > 1)
      errors.push(`${field}.address: a unix:// host needs the address the other hosts reach it on`);
  });
  return errors;
}

/** A host with every default filled: its address is known. */
export interface ResolvedHost extends HostSpec {
  address: string;
  /** The implicit host of a spec without `hosts`: its engine is whatever `new Docker()` reaches, as before. */
  implicit?: true;
}

/** The implicit host of a spec without `hosts`. */
export const IMPLICIT_LOCAL_HOST: ResolvedHost = {
  name: LOCAL_HOST,
  endpoint: `unix://${DEFAULT_SOCKET}`,
  address: '127.0.0.1',
  implicit: true,
};

/**
 * The hosts of a spec (the implicit `local` one when it lists none), addresses filled: a lone unix
 * host is reached on 127.0.0.1, as today.
 */
export function resolveHosts(hosts: readonly HostSpec[] | undefined): ResolvedHost[] {
  if (!hosts?.length) return [IMPLICIT_LOCAL_HOST];
  return hosts.map((h) => ({ ...h, address: h.address ?? defaultAddress(h.endpoint) ?? '127.0.0.1' }));
}

/** True when the spec names no hosts: every piece of work runs as it did before hosts existed. */
export const isImplicitLocal = (hosts: readonly HostSpec[] | undefined): boolean => !hosts?.length;

/**
 * Why the setup cannot build on this spec's hosts yet, or undefined when it can. One host is built by
 * the shared worker's engine, so a lone host must be the local socket. Several hosts are built host by
 * host by each host's worker (`citusctl worker --host`), without backups so far: a volume repository
 * lives on one engine, and archiving from every host to an S3 one is not wired yet.
 */
export function unbuildableHosts(spec: {
  hosts?: readonly HostSpec[] | undefined;
  backup: { enabled: boolean };
}): string | undefined {
  const { hosts } = spec;
  if (!hosts?.length) return undefined;
  if (hosts.length === 1)
    return hosts[0]!.endpoint === `unix://${DEFAULT_SOCKET}`
      ? undefined
      : `hosts: 1 listed (${hosts[0]!.name}, ${hosts[0]!.endpoint}); one host is built through the local engine ` +
          `(unix://${DEFAULT_SOCKET}): remove \`hosts\`, list that socket, or list several hosts, each with its worker`;
  if (spec.backup.enabled)
    return (
      `hosts: ${hosts.length} listed (${hosts.map((h) => h.name).join(', ')}); backups across several hosts are not ` +
      'built yet: set `backup: { enabled: false }` to build this cluster'
    );
  return undefined;
}
