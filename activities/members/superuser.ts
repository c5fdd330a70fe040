/**
 * A superuser connection to one member, through its published port (on 127.0.0.1 with one host, its
 * host's address with several: common/addressing.ts), verify-full TLS (lib/pg-connector.ts).
 */
import type { Client } from 'pg';
import { addressOf } from '../../common/addressing';
import type { ClusterSpec } from '../../common/spec';
import type { PgTarget } from '../../lib/pg-connector';
import { SUPERUSER } from '../../common/topology';
import type { ActivityDeps } from '../deps';
import { classifyPgError, fatal } from '../../lib/errors';
import { memberTls } from '../../lib/tls/pg-tls';

export async function asSuperuser<T>(
  deps: ActivityDeps,
  spec: ClusterSpec,
  memberName: string,
  fn: (c: Client) => Promise<T>,
  timeouts?: Pick<PgTarget, 'connectTimeoutMs' | 'queryTimeoutMs'>,
): Promise<T> {
  const member = spec.members.find((m) => m.name === memberName);
  if (!member) throw fatal('BadConfig', `unknown member ${memberName}`);
  const s = await deps.secrets.ensure(spec.name);
  const tls = await memberTls(deps.tls, spec.name, member.name);
  return deps.pg.withClient(
    {
      host: addressOf(spec, member.name),
      port: member.port,
      user: SUPERUSER,
      password: s.superuserPassword,
      tls,
      ...timeouts,
    },
    fn,
  );
}

/** asSuperuser with pg errors classified (retryable or not), named "<what> on <member>". */
export async function onMember<T>(
  deps: ActivityDeps,
  spec: ClusterSpec,
  member: string,
  what: string,
  fn: (c: Client) => Promise<T>,
): Promise<T> {
  try {
    return await asSuperuser(deps, spec, member, fn);
  } catch (err) {
    throw classifyPgError(err, `${what} on ${member}`);
  }
}
