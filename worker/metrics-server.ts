/**
 * Serves the long-lived worker's metrics as Prometheus text on 127.0.0.1:<port>/metrics: citusctl's
 * own (lib/metrics.ts) followed by the Temporal SDK's worker metrics, which the SDK's core serves on
 * a free local port of each worker process (installed here, before any worker is created: the
 * supervisor's standby process has its own runtime while the active one serves <port>). A port in
 * use is reported and the worker runs without metrics: healing matters more than its telemetry.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type { PrometheusMetrics } from '../lib/metrics';

export const METRICS_PORT_ENV = 'CITUSCTL_METRICS_PORT';
export const DEFAULT_METRICS_PORT = 9464;

export function metricsPort(env: NodeJS.ProcessEnv): number {
  const n = Number(env[METRICS_PORT_ENV] || DEFAULT_METRICS_PORT);
  return Number.isInteger(n) && n > 0 && n < 65_535 ? n : DEFAULT_METRICS_PORT;
}

/** A port the system picks as free right now (the SDK binds it a moment later). */
function freePort(): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(undefined));
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });
}

/**
 * Installs the SDK runtime with its Prometheus exporter on a free local port, returned; call before creating workers.
 */
export async function installRuntimeWithMetrics(log: (line: string) => void): Promise<number | undefined> {
  // The SDK is loaded here, not with the module: `up` reads the port setting above without it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DefaultLogger, Runtime } = require('@temporalio/worker') as typeof import('@temporalio/worker');
  const sdkPort = await freePort();
  if (!sdkPort) log(`metrics: no free local port: the Temporal SDK's worker metrics are not served`);
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: sdkPort ? { metrics: { prometheus: { bindAddress: `127.0.0.1:${sdkPort}` } } } : {},
  });
  return sdkPort;
}

async function sdkMetrics(port: number): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? await res.text() : '';
  } catch {
    return '';
  }
}

/** Starts the /metrics server; resolves with its URL, or undefined when the port is taken. */
export function serveMetrics(
  metrics: PrometheusMetrics,
  port: number,
  sdkPort: number | undefined,
  log: (line: string) => void,
): Promise<string | undefined> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found: /metrics\n');
      return;
    }
    void (async () => {
      const own = await metrics.registry.metrics();
      const sdk = sdkPort ? await sdkMetrics(sdkPort) : '';
      res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(`${own}\n${sdk}`);
    })().catch((err: Error) => res.writeHead(500).end(`${err.message}\n`));
  });
  return new Promise((resolve) => {
    server.once('error', (err) => {
      log(`metrics: cannot serve on 127.0.0.1:${port} (${err.message}); the worker runs without /metrics`);
      resolve(undefined);
    });
    server.listen(port, '127.0.0.1', () => {
      server.unref();
      resolve(`http://127.0.0.1:${port}/metrics`);
    });
  });
}
