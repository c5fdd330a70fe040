/** A Temporal client on the resolved endpoint. */
import { Client, Connection } from '@temporalio/client';
import type { TemporalEndpoint } from '../lib/temporal-server';

export async function connectClient(endpoint: TemporalEndpoint): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address: endpoint.address });
  return { client: new Client({ connection, namespace: endpoint.namespace }), close: () => connection.close() };
}

export const setupWorkflowId = (cluster: string) => `setup-${cluster}`;
