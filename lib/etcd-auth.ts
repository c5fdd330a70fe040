/**
 * etcd requires TLS with a client certificate signed by the cluster's CA, and authentication: only
 * the orchestrator and `citusctl status`, which hold the client certificate and know the `root`
 * password from the cluster's state directory, read or write the control state (primaries, locks,
 * events). The password travels only through etcd's gRPC API over TLS, never in process args or env.
 *
 * The client certificate's common name is `root` (common/tls-identities.ts): with auth enabled,
 * etcd takes a request's auth token (from the password) first and, without one, the certificate's
 * common name as the user. So a wrong password fails even with the certificate, and the
 * certificate alone acts as root; both live in the same owner-only state directory.
 */
import { ConstantBackoff, handleWhen, noop, retry } from 'cockatiel';
import { EtcdAuthenticationFailedError, EtcdUserExistsError, Etcd3, GRPCUnavailableError, type IOptions } from 'etcd3';
import { ETCD_ROOT } from '../common/etcd-keys';
import { ETCD_MEMBER } from '../common/topology';
import { skipBoard, skipWhileUnanswered } from './etcd-host-skip';
import { probeWhileUsed } from './etcd-reach-probe';
import type { ClientTls } from './tls/orchestrator-tls';

/** etcd's superuser: `auth enable` needs it, and it is the only user (it holds the `root` role). */
export const ETCD_USER = 'root';

/** Bound of every unary call (streams, e.g. lease keep-alives, have none). */
const CALL_DEADLINE_MS = 5_000;

export interface EtcdClientAccess {
  /** The trust bundle and the client certificate; without them the client presents none and etcd refuses it. */
  tls: ClientTls | undefined;
  /** root's password; without it the client is unauthenticated (or root by its certificate's name). */
  password?: string | undefined;
  dialTimeout?: number;
}

/**
 * Which etcd a client talks to: a port is the single member on https://127.0.0.1:<port>, as always;
 * a list is every member's client URL (`https://addr:port`, common/etcd-members.ts etcdEndpoints).
 */
export type EtcdTarget = number | readonly string[];

const endpointsOf = (target: EtcdTarget): string[] =>
  typeof target === 'number' ? [`https://127.0.0.1:${target}`] : [...target];

/** How a message names the etcd it could not open. */
export const describeTarget = (target: EtcdTarget) =>
  typeof target === 'number' ? `127.0.0.1:${target}` : target.join(', ');

/**
 * With several members, a call a member cannot take (it is down: gRPC's UNAVAILABLE, raised before
 * the request reaches etcd or when the connection drops) goes to the next member, each tried once.
 * etcd3 picks a member per call at random and, with no circuit breaker, does not move on by itself.
 * Only UNAVAILABLE: a call that timed out may have been applied, and repeating a compare-and-swap
 * that was would report the swap lost.
 */
function failover(endpoints: number) {
  return endpoints > 1
    ? retry(
        handleWhen((e) => e instanceof GRPCUnavailableError),
        { maxAttempts: endpoints - 1, backoff: new ConstantBackoff(0) },
      )
    : noop;
}

/**
 * Client options for the etcd at `target`. The server must present a certificate
 * of the cluster's CA for the name `etcd`: every certificate of the cluster names 127.0.0.1, so a
 * member's, presented by whatever listens on etcd's port while etcd is down, does not do. (etcd3
 * opens the channel of its Authenticate call, the one carrying the password, without these gRPC
 * options: that one checks the CA and 127.0.0.1 only.)
 * A long-lived client (the worker's, cached per cluster) must survive etcd restarting. etcd3's
 * default per-host circuit breaker, with auth on, leaves every call after a ~15 s outage pending
 * forever (reproduced against a real etcd: stop 12 s, start, calls never settle); with no breaker
 * (noop policies) the first call after the restart answers. Our callers retry themselves
 * (Temporal), so the breaker buys nothing; with several members, a call moves on to the next
 * member instead (failover above), and a member that did not answer is skipped for a while
 * (etcd-host-skip.ts: it fails calls at once, never holds them). Unary calls also get a deadline, and gRPC's
 * reconnect backoff (up to 2 minutes by default) stays short.
 */
export function etcdClientOptions(target: EtcdTarget, access: EtcdClientAccess): IOptions {
  const { tls, password, dialTimeout = 3000 } = access;
  const endpoints = endpointsOf(target);
  const skips = skipBoard(endpoints);
  if (endpoints.length > 1) probeWhileUsed(skips);
  return {
    hosts: endpoints.length === 1 ? endpoints[0]! : endpoints,
    // Without credentials etcd3 uses TLS with the system's CAs: the cluster's etcd is not among them.
    ...(tls
      ? {
          credentials: {
            rootCertificate: Buffer.from(tls.ca),
            certChain: Buffer.from(tls.cert),
            privateKey: Buffer.from(tls.key),
          },
        }
      : {}),
    dialTimeout,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
    grpcOptions: {
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2_000,
      // The name only etcd's certificates hold (every member's): every certificate of the cluster names 127.0.0.1.
      'grpc.ssl_target_name_override': ETCD_MEMBER,
    },
    faultHandling: {
      host: (h) => (endpoints.length > 1 ? skipWhileUnanswered(h, Date.now, skips) : noop),
      global: failover(endpoints.length),
    },
    ...(password ? { auth: { username: ETCD_USER, password } } : {}),
  };
}

/** etcd answers an unauthenticated request this way once auth is enabled. */
export const isAuthRequired = (err: unknown) =>
  /user name is empty|invalid auth token/i.test((err as Error)?.message ?? '');

/** Is auth enabled? Asked without a password (etcd may refuse the question itself once it is). */
export async function etcdAuthEnabled(target: EtcdTarget, tls: ClientTls | undefined): Promise<boolean> {
  const plain = new Etcd3(etcdClientOptions(target, { tls }));
  try {
    return (await plain.auth.authStatus()).enabled;
  } catch (err) {
    if (isAuthRequired(err)) return true;
    throw err;
  } finally {
    plain.close();
  }
}

export type SecureOutcome = 'already-secured' | 'secured';

/** The stored password does not open this etcd: it was secured by someone else (or secrets were replaced). */
export class EtcdCredentialsRejected extends Error {}

/**
 * Converges the etcd at `target` to "auth enabled, user root with this password and the root
 * role". Each step is safe to repeat, so a rerun is a no-op and a half-done earlier attempt (user
 * added, role not granted, auth not enabled) is finished. Throws EtcdCredentialsRejected when auth
 * is on and the password is not ours; any other error (etcd not up yet) is transient. On a cluster
 * of members, users and the auth switch are cluster state (replicated through raft): it is done
 * once, through whichever member answers, and needs a quorum, not every member.
 */
export async function secureEtcd(
  target: EtcdTarget,
  password: string,
  tls: ClientTls | undefined,
): Promise<SecureOutcome> {
  const wasEnabled = await etcdAuthEnabled(target, tls);
  if (!wasEnabled) {
    const plain = new Etcd3(etcdClientOptions(target, { tls }));
    try {
      const user = plain.user(ETCD_USER);
      try {
        await user.create(password);
      } catch (err) {
        if (!(err instanceof EtcdUserExistsError)) throw err;
        await user.setPassword(password); // left by a half-done attempt, maybe with other secrets
      }
      await user.addRole('root'); // granting a role the user holds is a no-op
      await plain.auth.authEnable();
    } finally {
      plain.close();
    }
  }
  await verifyCredentials(target, password, tls);
  return wasEnabled ? 'already-secured' : 'secured';
}

/**
 * One authenticated read proves the password (and that auth is what answers). Through one member
 * at a time, the first that answers: etcd's default (simple) auth tokens are known only to the
 * member that issued them, and etcd3 logs in on the first endpoint but calls a random one.
 */
export async function verifyCredentials(
  target: EtcdTarget,
  password: string,
  tls: ClientTls | undefined,
): Promise<void> {
  let lastError: unknown;
  for (const endpoint of endpointsOf(target)) {
    const authed = new Etcd3(etcdClientOptions([endpoint], { tls, password }));
    try {
      await authed.get(ETCD_ROOT).string();
      return;
    } catch (err) {
      if (err instanceof EtcdAuthenticationFailedError) {
        throw new EtcdCredentialsRejected(
          `etcd on ${describeTarget(target)} rejects the root password in the cluster's secrets file`,
        );
      }
      lastError = err;
    } finally {
      authed.close();
    }
  }
  throw lastError;
}
