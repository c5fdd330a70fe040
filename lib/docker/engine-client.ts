/**
 * A Docker client per host of the spec (common/hosts.ts): the local socket, a tcp:// engine over
 * mutual TLS (the CA, certificate and key read from the files the spec names), or an ssh:// engine
 * through docker-modem's ssh protocol (`docker system dial-stdio` on the host, authenticated by the
 * ssh-agent of SSH_AUTH_SOCK). The implicit host of a spec without hosts is `new Docker()`, as before.
 * Clients are built once per host and kept: activities get them injected (activities/deps.ts).
 */
import Docker from 'dockerode';
import * as fs from 'node:fs';
import { parseEndpoint, type ResolvedHost } from '../../common/hosts';

export type ReadFile = (path: string) => Buffer;

/** A host whose client cannot be built (a file unreadable, no ssh-agent): fix the spec or the host, not retry. */
export class EngineConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineConfigError';
  }
}

/** dockerode's options for a host; undefined for the implicit local host (`new Docker()` reads DOCKER_HOST as ever). */
export function engineOptions(
  host: ResolvedHost,
  env: NodeJS.ProcessEnv = process.env,
  readFile: ReadFile = fs.readFileSync,
): Docker.DockerOptions | undefined {
  if (host.implicit) return undefined;
  const parsed = parseEndpoint(host.endpoint);
  if (!parsed.ok) throw new EngineConfigError(`host ${host.name}: endpoint ${parsed.error}`);
  const e = parsed.endpoint;
  // host/port/protocol are set even when unused: docker-modem would otherwise take them from DOCKER_HOST.
  switch (e.kind) {
    case 'unix':
      return { socketPath: e.socketPath, host: undefined, port: undefined, protocol: undefined };
    case 'tcp': {
      if (!host.tls) throw new EngineConfigError(`host ${host.name}: a tcp:// endpoint needs tls files`);
      const read = (field: 'caFile' | 'certFile' | 'keyFile') => {
        const file = host.tls![field];
        try {
          return readFile(file);
        } catch (err) {
          const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
          throw new EngineConfigError(`host ${host.name}: cannot read tls.${field} ${file}: ${why}`);
        }
      };
      return {
        protocol: 'https',
        host: e.host,
        port: e.port,
        ca: read('caFile'),
        cert: read('certFile'),
        key: read('keyFile'),
      };
    }
    case 'ssh': {
      const agent = env.SSH_AUTH_SOCK;
      if (!agent)
        throw new EngineConfigError(
          `host ${host.name}: an ssh:// endpoint needs an ssh-agent (SSH_AUTH_SOCK is not set)`,
        );
      return { protocol: 'ssh', host: e.host, port: e.port, username: e.user, sshOptions: { agent } };
    }
  }
}

const clients = new Map<string, Docker>();

/** The host's client, built on first use and kept (per name, endpoint and files: an edited host gets a new one). */
export function engineFor(host: ResolvedHost, env: NodeJS.ProcessEnv = process.env): Docker {
  const key = JSON.stringify([host.name, host.endpoint, host.tls ?? null, !!host.implicit]);
  let docker = clients.get(key);
  if (!docker) {
    const options = engineOptions(host, env);
    docker = options ? new Docker(options) : new Docker();
    clients.set(key, docker);
  }
  return docker;
}

export type EnginePing = { reachable: true } | { reachable: false; error: string };

/** Whether the engine answers its _ping within timeoutMs (for status: never waits on a dead host for long). */
export async function pingEngine(docker: Docker, timeoutMs = 2_000): Promise<EnginePing> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<EnginePing>((resolve) => {
    timer = setTimeout(() => resolve({ reachable: false, error: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  const ping = docker.ping().then(
    (): EnginePing => ({ reachable: true }),
    (err: Error): EnginePing => ({ reachable: false, error: err.message }),
  );
  try {
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
