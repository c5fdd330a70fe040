/** PostgreSQL WAL positions ('16/B374D848': two hex halves of a 64-bit byte offset), parsed in one place. */
import { InvariantError } from './workflow-failure';

const LSN = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i;

export const isLsn = (v: string | null | undefined): v is string => typeof v === 'string' && LSN.test(v);

/** 'A/B' (hex) -> bytes; null when not an LSN. */
export function lsnBytes(lsn: string | null | undefined): bigint | null {
  const m = lsn ? LSN.exec(lsn) : null;
  return m ? (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`) : null;
}

/** '16/B374D848' -> a comparable number; anything else is a bug. */
export function lsnToBigInt(lsn: string): bigint {
  const v = lsnBytes(lsn);
  if (v === null) throw new InvariantError(`not an LSN: ${lsn}`);
  return v;
}

export const formatLsn = (v: bigint) =>
  `${(v >> 32n).toString(16).toUpperCase()}/${(v & 0xffffffffn).toString(16).toUpperCase()}`;
