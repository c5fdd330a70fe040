/**
 * Whether the Temporal namespace knows CitusCluster and CitusGroup, asked through the worker's own
 * client: a workflow started without them (from the UI, by `temporal workflow execute`) sets them
 * itself only when they exist, since upserting an unknown attribute would fail its every task.
 */
import { Context } from '@temporalio/activity';
import { CITUS_SEARCH_ATTRIBUTES } from '../../common/search-attributes';
import { withHeartbeat } from '../heartbeat';

export function createSearchAttributeActivities() {
  let registered = false; // once registered, they stay: later calls skip the round trip

  async function searchAttributesRegistered(): Promise<boolean> {
    if (registered) return true;
    const { client, info } = Context.current();
    const r = await withHeartbeat(() =>
      client.connection.operatorService.listSearchAttributes({ namespace: info.workflowNamespace }),
    );
    const custom = r.customAttributes ?? {};
    registered = Object.keys(CITUS_SEARCH_ATTRIBUTES).every((name) => name in custom);
    return registered;
  }

  return { searchAttributesRegistered };
}
