/**
 * The monitor's second viewpoint on a primary it cannot reach while its container runs: each peer
 * (common/partition-decisions.ts peersToAsk) is asked, in parallel and each within a deadline,
 * whether it can open a connection to that primary now (lib/postgres canConnectTo). Only asked
 * for a primary that failed the previous probe, so a healthy cluster costs nothing.
 */
import { addressOf, peerPort } from '../../common/addressing';
import type { PeerView } from '../../common/peer-view';
import type { ClusterSpec } from '../../common/spec';
import { SUPERUSER } from '../../common/topology';
import { canConnectTo } from '../../lib/postgres';
import { errMessage, withDeadline } from '../../lib/deadline';
import { memberTls } from '../../lib/tls/pg-tls';
import type { ActivityDeps } from '../deps';

/**
 * A peer's own connection to the primary gets this long: far above a healthy connection (TLS and
 * SCRAM on one host take milliseconds) and short enough that a primary whose packets are dropped
 * is confirmed within the detection budget. A missing address (a disconnected container is gone
 * from Docker's DNS) fails at once.
 */
export const PEER_CHECK_TIMEOUT_MS = 1000;
/** The monitor's connection to the peer. */
const PEER_CONNECT_TIMEOUT_MS = 500;

/**
 * `slackMs`: more time for the peer's answer beyond the check's own timeout, for a caller that would
 * rather wait than have no answer (a failover's look at a silent host: a peer whose connection to an
 * address gone from the network takes ~3 s to fail, not honouring the check's timeout, still answers).
 */
export function createPeerViewObserver(deps: ActivityDeps, slackMs = 0) {
  async function askPeer(spec: ClusterSpec, password: string, peer: string, primary: string): Promise<boolean> {
    const port = spec.members.find((m) => m.name === peer)?.port;
    if (port === undefined) throw new Error('not in the spec');
    const budget = PEER_CONNECT_TIMEOUT_MS + PEER_CHECK_TIMEOUT_MS + 1000 + slackMs;
    const tls = await memberTls(deps.tls, spec.name, peer);
    return withDeadline(
      deps.pg.withClient(
        {
          host: addressOf(spec, peer),
          port,
          user: SUPERUSER,
          password,
          tls,
          connectTimeoutMs: PEER_CONNECT_TIMEOUT_MS,
          queryTimeoutMs: PEER_CHECK_TIMEOUT_MS + 1000 + slackMs,
        },
        (c) => canConnectTo(c, primary, peerPort(spec, primary), PEER_CHECK_TIMEOUT_MS),
      ),
      budget,
      'peer check',
    );
  }

  /** primary -> its peers' view, for each primary in `asks` (primary -> peers). */
  async function observePeers(
    spec: ClusterSpec,
    password: string,
    asks: Record<string, string[]>,
  ): Promise<Record<string, PeerView>> {
    const entries = await Promise.all(
      Object.entries(asks).map(async ([primary, peers]) => {
        const view: PeerView = { reached: [], cut: [], unasked: [] };
        await Promise.all(
          peers.map((peer) =>
            askPeer(spec, password, peer, primary).then(
              (ok) => (ok ? view.reached : view.cut).push(peer),
              (err: unknown) => view.unasked.push(`${peer}: ${errMessage(err)}`),
            ),
          ),
        );
        for (const list of [view.reached, view.cut, view.unasked]) list.sort();
        return [primary, view] as const;
      }),
    );
    return Object.fromEntries(entries);
  }

  return { observePeers };
}
