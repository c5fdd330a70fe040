/**
 * `citusctl worker --host NAME --engine ENDPOINT`: the engine a host's worker uses for its own host,
 * instead of the spec's endpoint. The spec's endpoint is how others (citusctl, the other hosts) reach
 * that engine, e.g. tcp://10.0.0.1:2376; a worker running on the host itself can use the local
 * socket, which needs no network: a host cut off from the others still reaches its own engine, so
 * its self-fence loop can stop its primaries (worker/self-fence-loop.ts).
 */
import { parseEndpoint, type ResolvedHost } from '../common/hosts';

/** The host with its worker's engine endpoint; throws naming --engine when it is not usable. */
export function withWorkerEngine(host: ResolvedHost, engine: string | undefined): ResolvedHost {
  if (engine === undefined) return host;
  const parsed = parseEndpoint(engine);
  if (!parsed.ok) throw new Error(`--engine: ${parsed.error}`);
  if (parsed.endpoint.kind === 'tcp' && !host.tls)
    throw new Error(
      `--engine ${engine}: a tcp:// engine needs TLS, and host ${host.name} has no tls files in the spec`,
    );
  return { ...host, endpoint: engine };
}
