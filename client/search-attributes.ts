/**
 * CitusCluster / CitusGroup on the workflows this CLI starts, when the server knows them: the
 * embedded dev server registers them at start (lib/temporal-server.ts), an external one by the
 * `temporal operator search-attribute create` commands in the README. An embedded server started
 * by an older version gets them registered here (it is ours); its next start has them at once.
 * Setting an attribute the namespace lacks would fail the start, so without them nothing is set.
 */
import type { Client } from '@temporalio/client';
import { SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { citusSearchAttributes, CITUS_SEARCH_ATTRIBUTES } from '../common/search-attributes';
import type { TemporalEndpoint } from '../lib/temporal-server';

const known = new WeakMap<Client, Promise<boolean>>();

async function lookUp(client: Client, embedded: boolean): Promise<boolean> {
  const ops = client.connection.operatorService;
  const namespace = client.options.namespace;
  const names = Object.keys(CITUS_SEARCH_ATTRIBUTES);
  const r = await ops.listSearchAttributes({ namespace });
  const missing = names.filter((n) => !(n in (r.customAttributes ?? {})));
  if (!missing.length) return true;
  if (embedded) {
    const keyword = encodeSearchAttributeIndexedValueType(SearchAttributeType.KEYWORD)!;
    await ops.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((n) => [n, keyword])),
    });
  }
  return false; // just registered: the server's cache may not have them yet; the next start uses them
}

/**
 * Whether the client's namespace knows both attributes (asked once per client; a failed lookup
 * counts as no). With the endpoint of the embedded server, missing ones are registered for next time.
 */
export function citusSearchAttributesRegistered(client: Client, endpoint?: TemporalEndpoint): Promise<boolean> {
  let p = known.get(client);
  if (!p) {
    p = lookUp(client, endpoint?.embedded === true).catch(() => false);
    known.set(client, p);
  }
  return p;
}

/** The cluster and group a workflow input is about: `{spec, group}`, `{spec, member}`, `{cluster, ...}`. */
export function clusterAndGroupOf(input: unknown): { cluster: string; group?: string } | undefined {
  if (!input || typeof input !== 'object') return undefined;
  const i = input as {
    spec?: { name?: unknown; members?: unknown };
    cluster?: unknown;
    group?: unknown;
    member?: unknown;
  };
  const cluster =
    typeof i.spec?.name === 'string' ? i.spec.name : typeof i.cluster === 'string' ? i.cluster : undefined;
  if (!cluster) return undefined;
  if (typeof i.group === 'string') return { cluster, group: i.group };
  const members = Array.isArray(i.spec?.members) ? (i.spec.members as { name?: unknown; group?: unknown }[]) : [];
  const group = members.find((m) => m && m.name === i.member)?.group;
  return typeof group === 'string' ? { cluster, group } : { cluster };
}

/** Start options tagging a workflow with its cluster and group, or none when the server lacks the attributes. */
export async function searchAttributesFor(
  client: Client,
  endpoint: TemporalEndpoint,
  input: unknown,
): Promise<{ typedSearchAttributes?: SearchAttributePair[] }> {
  const target = clusterAndGroupOf(input);
  if (!target || !(await citusSearchAttributesRegistered(client, endpoint))) return {};
  return { typedSearchAttributes: citusSearchAttributes(target.cluster, target.group) };
}
