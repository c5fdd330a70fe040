/**
 * Serves the long-lived worker's metrics as Prometheus text on 127.0.0.1:<port>/metrics: citusctl's
 * own (lib/metrics.ts) followed by the Temporal SDK's worker metrics, which the SDK's core serves on
 * 127.0.0.1:<port + 1> (installed here, before any worker is created). A port in use is reported
 * and the worker runs without metrics: healing matters more than its telemetry.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import * as http from 'node:http';
import * as net from 'node:net';
import type { PrometheusMetrics } from '../lib/metrics';

export const METRICS_PORT_ENV = 'CITUSCTL_METRICS_PORT';
export const DEFAULT_METRICS_PORT = 9464;

export function metricsPort(env: NodeJS.ProcessEnv): number {
  const n = Number(env[METRICS_PORT_ENV] || DEFAULT_METRICS_PORT);
  return Number.isInteger(n) && n > 0 && n < 65_535 ? n : DEFAULT_METRICS_PORT;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Installs the SDK runtime with its Prometheus exporter on port + 1 (when free); call before creating workers. */
export async function installRuntimeWithMetrics(port: number, log: (line: string) => void): Promise<boolean> {
  const sdkPort = port + 1;
  const free = await portFree(sdkPort);
  if (!free) log(`metrics: port ${sdkPort} is in use: the Temporal SDK's worker metrics are not served`);
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: free ? { metrics: { prometheus: { bindAddress: `127.0.0.1:${sdkPort}` } } } : {},
  });
  return free;
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
export function serveMetrics(metrics: PrometheusMetrics, port: number, withSdk: boolean, log: (line: string) => void): Promise<string | undefined> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found: /metrics\n');
      return;
    }
    void (async () => {
      const own = await metrics.registry.metrics();
      const sdk = withSdk ? await sdkMetrics(port + 1) : '';
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
