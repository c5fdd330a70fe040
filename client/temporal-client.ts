/** A Temporal client on the resolved endpoint, with the TLS or API key of Temporal's client configuration. */
import { Client, Connection } from '@temporalio/client';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connectFailure, retryConnect, temporalConnectOptions } from '../lib/temporal-connection';
import { ensureTemporal, type TemporalEndpoint } from '../lib/temporal-server';

export interface ConnectedClient {
  client: Client;
  /** Closes the connection; call it only once every call made through the client has settled. */
  close: () => Promise<void>;
}

export async function connectClient(
  endpoint: TemporalEndpoint,
  connectTimeoutMs?: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ConnectedClient> {
  const options = temporalConnectOptions(endpoint, env);
  const started = Date.now();
  for (;;) {
    const connection = Connection.lazy({
      ...options,
      ...(connectTimeoutMs ? { connectTimeout: connectTimeoutMs } : {}),
    });
    try {
      await connection.ensureConnected();
      return { client: new Client({ connection, namespace: endpoint.namespace }), close: () => connection.close() };
    } catch (err) {
      await connection.close().catch(() => undefined); // no channel left retrying in the background
      if (!retryConnect(endpoint, err, Date.now() - started)) throw await connectFailure(options, err);
    }
  }
}

export { setupWorkflowId } from '../common/workflow-ids';

/**
 * The Temporal server holding the cluster's workflows, for `down`: TEMPORAL_ADDRESS when set;
 * else the embedded dev server, started again only if its database exists (a workflow left in it
 * would resume on its next start). Undefined when there is none or it cannot be reached.
 */
export async function connectForCleanup(
  stateRoot: string,
  env: NodeJS.ProcessEnv,
): Promise<{ connected?: ConnectedClient; address?: string; why?: string }> {
  const hasEmbeddedState = fs.existsSync(path.join(stateRoot, 'temporal', 'temporal.db'));
  if (!env.TEMPORAL_ADDRESS && !hasEmbeddedState) return { why: 'no Temporal server has run for this state directory' };
  let endpoint: TemporalEndpoint;
  try {
    endpoint = await ensureTemporal(stateRoot, env);
  } catch (err) {
    return { why: (err as Error).message };
  }
  try {
    return { connected: await connectClient(endpoint, 5_000, env), address: endpoint.address };
  } catch (err) {
    return { address: endpoint.address, why: `cannot connect to ${endpoint.address}: ${(err as Error).message}` };
  }
}
