/**
 * How a given spec differs from the spec stored with an existing cluster, field by field. Only
 * setupCluster may change the stored spec, and only when told to (`citusctl up` of an edited spec
 * file); every other input that carries a spec must carry the stored one. Images the given spec
 * leaves out are not differences: the stored spec holds the images the setup resolved.
 */
import type { ClusterSpec } from './spec';

const MAX_SHOWN = 8;

function show(v: unknown): string {
  const text = JSON.stringify(v);
  return text === undefined ? 'nothing' : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Leaf paths where `a` and `b` differ ("members[2].port"); a list of another length differs as a whole. */
function diff(a: unknown, b: unknown, path: string, out: { field: string; given: unknown; stored: unknown }[]): void {
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((x, i) => diff(x, b[i], `${path}[${i}]`, out));
    return;
  }
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort())
      diff(a[k], b[k], path ? `${path}.${k}` : k, out);
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ field: path, given: a, stored: b });
}

/** The differing fields, each as `field (given X, stored Y)`; empty when the given spec is the stored one. */
export function specDifferences(given: ClusterSpec, stored: ClusterSpec): string[] {
  const out: { field: string; given: unknown; stored: unknown }[] = [];
  // Images the given spec names are compared; the others are whatever the setup resolved.
  const images = Object.fromEntries(
    Object.keys(given.images).map((role) => [role, stored.images[role as keyof ClusterSpec['images']]]),
  );
  diff({ ...given }, { ...stored, images }, '', out);
  return out.map((d) => `${d.field} (given ${show(d.given)}, stored ${show(d.stored)})`);
}

/** One line for an error message: the first few differences, and how many more. */
export function describeDifferences(differences: readonly string[]): string {
  const shown = differences.slice(0, MAX_SHOWN).join('; ');
  return differences.length > MAX_SHOWN ? `${shown}; and ${differences.length - MAX_SHOWN} more` : shown;
}
