/**
 * observeHostReach: whether a host's peers still reach it (common/host-silence.ts's evidence), asked
 * when a failover's host-queue step on that host was never taken. Each member of the group's other
 * hosts that answers is asked to connect to each member placed on the host (monitor-peer-view.ts),
 * and this machine knocks on the host's ports without credentials (an SSLRequest, the engine's TCP
 * port: lib/peer-reach.ts). Only reads; bounded by the peer check's deadlines.
 */
import { hostOfContainer } from '../../common/addressing';
import { hostReachVerdict, type HostReach } from '../../common/host-silence';
import { describePeerView } from '../../common/peer-view';
import { peerTargets } from '../../common/self-fence';
import { resolveHosts } from '../../common/hosts';
import type { ClusterSpec } from '../../common/spec';
import { postgresAnswers, tcpConnects } from '../../lib/peer-reach';
import type { ActivityDeps } from '../deps';
import { withHeartbeat } from '../heartbeat';
import { createPeerViewObserver } from '../monitor/monitor-peer-view';

/** This machine's knock on one of the host's ports. */
const KNOCK_TIMEOUT_MS = 1000;
/**
 * A peer's connection to an address gone from the network fails in ~3 s (no ARP answer) where its
 * check does not bound it (the Citus test double): waited for, so the peer answers "cut" rather than
 * not at all (which refuses the failover).
 */
const PEER_SLACK_MS = 3000;

export function createHostReachActivities(deps: ActivityDeps) {
  const { observePeers } = createPeerViewObserver(deps, PEER_SLACK_MS);

  async function observeHostReach(input: { spec: ClusterSpec; host: string }): Promise<HostReach> {
    const { spec, host } = input;
    return withHeartbeat(async () => {
      const at = Date.now();
      const placed = spec.members.map((m) => ({ ...m, host: hostOfContainer(spec, m.name).name }));
      const onHost = placed.filter((m) => m.host === host).map((m) => m.name);
      const elsewhere = placed.filter((m) => m.host !== host).map((m) => m.name);
      const password = (await deps.secrets.ensure(spec.name)).superuserPassword;
      const targets = peerTargets(resolveHosts(spec.hosts), placed, '').filter((t) => t.host === host);
      const [views, knocks] = await Promise.all([
        observePeers(spec, password, Object.fromEntries(onHost.map((m) => [m, elsewhere]))),
        Promise.all(
          targets.map((t) =>
            t.kind === 'postgres'
              ? postgresAnswers(t.address, t.port, KNOCK_TIMEOUT_MS)
              : tcpConnects(t.address, t.port, KNOCK_TIMEOUT_MS),
          ),
        ),
      ]);
      const controllerReached = knocks.some(Boolean);
      const detail = [
        ...Object.entries(views).map(([m, v]) => `${m}: ${describePeerView(v)}`),
        `this machine ${controllerReached ? 'reaches' : 'reaches none of'} its ports`,
      ].join('; ');
      return { host, verdict: hostReachVerdict(Object.values(views), controllerReached), at, detail };
    });
  }

  return { observeHostReach };
}
