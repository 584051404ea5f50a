// Glob patterns and comma lists, the two syntaxes every sync annotation is written in. Globs are
// matched without regular expressions (a pattern is data written by a tenant; no regex means no
// catastrophic backtracking and no surprise from regex syntax), and a glob never crosses a `/`
// because each segment of `cluster/namespace/name` is matched on its own.

/** `*` matches any run of characters (also none), `?` exactly one; everything else is literal. */
export function globMatch(pattern: string, value: string): boolean {
  // Iterative wildcard matching with one backtrack point: linear in practice, O(n·m) worst case.
  let p = 0;
  let v = 0;
  let star = -1;
  let mark = 0;
  while (v < value.length) {
    const c = pattern[p];
    if (c === '?' || (c !== undefined && c !== '*' && c === value[v])) {
      p++;
      v++;
    } else if (c === '*') {
      star = p++;
      mark = v;
    } else if (star >= 0) {
      p = star + 1;
      v = ++mark;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

export const isGlob = (s: string): boolean => s.includes('*') || s.includes('?');

const SEGMENT = /^[A-Za-z0-9._*?-]+$/;

/** A name or glob as one segment of a pattern: Kubernetes name characters plus `*` and `?`. */
export function isValidSegment(s: string): boolean {
  return s.length > 0 && s.length <= 253 && SEGMENT.test(s);
}

/** Splits a comma (or newline) separated list, trimming entries and dropping empty ones. */
export function splitList(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** A `[cluster/]namespace/name` pattern from a namespace's accept list. */
export interface SourcePattern {
  /** Undefined: only sources from the destination's own cluster. */
  cluster: string | undefined;
  namespace: string;
  name: string;
}

export function parseSourcePattern(s: string): SourcePattern | string {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3) return `"${s}" is not of the form [cluster/]namespace/name`;
  for (const p of parts) if (!isValidSegment(p)) return `"${s}" has an invalid segment "${p}"`;
  return parts.length === 3
    ? { cluster: parts[0], namespace: parts[1] ?? '', name: parts[2] ?? '' }
    : { cluster: undefined, namespace: parts[0] ?? '', name: parts[1] ?? '' };
}

export function formatSourcePattern(p: SourcePattern): string {
  return p.cluster === undefined ? `${p.namespace}/${p.name}` : `${p.cluster}/${p.namespace}/${p.name}`;
}
