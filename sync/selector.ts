// Kubernetes label selectors in their string form (`env=prod,tier in (a,b),!legacy`), parsed into
// requirements and matched against label maps. The sidecar needs them client-side because the
// selectors come from annotations and are matched against namespaces and clusters it already holds.

export type Operator = 'exists' | 'notexists' | 'eq' | 'neq' | 'in' | 'notin';

export interface Requirement {
  key: string;
  op: Operator;
  values: string[];
}

export interface Selector {
  requirements: Requirement[];
  /** The selector as written, for messages. */
  text: string;
}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const VALUE = /^(|[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;

export function isValidLabelKey(key: string): boolean {
  const i = key.indexOf('/');
  if (i < 0) return NAME.test(key);
  const prefix = key.slice(0, i);
  return prefix.length <= 253 && PREFIX.test(prefix) && NAME.test(key.slice(i + 1));
}

export const isValidLabelValue = (v: string): boolean => VALUE.test(v);

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(s: string): string[] | string {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of s) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (depth < 0 || depth > 1) return 'unbalanced parentheses';
    if (c === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (depth !== 0) return 'unbalanced parentheses';
  out.push(cur);
  return out;
}

function parseRequirement(raw: string): Requirement | string {
  const s = raw.trim();
  if (!s) return 'empty requirement';
  let m = /^!\s*(\S+)$/.exec(s);
  if (m) return key(m[1] ?? '', 'notexists', []);
  m = /^(\S+?)\s+(in|notin)\s*\(([^()]*)\)$/.exec(s);
  if (m) {
    const values = (m[3] ?? '').split(',').map((v) => v.trim());
    if (values.length === 0 || (values.length === 1 && values[0] === '')) return `"${s}": empty value set`;
    return key(m[1] ?? '', m[2] === 'in' ? 'in' : 'notin', values);
  }
  m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(s);
  if (m) return key(m[1] ?? '', m[2] === '!=' ? 'neq' : 'eq', [m[3] ?? '']);
  if (/^[^\s=!(),]+$/.test(s)) return key(s, 'exists', []);
  return `cannot parse "${s}"`;
}

function key(k: string, op: Operator, values: string[]): Requirement | string {
  if (!isValidLabelKey(k)) return `invalid label key "${k}"`;
  for (const v of values) if (!isValidLabelValue(v)) return `invalid label value "${v}"`;
  return { key: k, op, values };
}

/** Parses a selector; a string result is the reason it is invalid. An empty selector is invalid. */
export function parseSelector(text: string): Selector | string {
  if (!text.trim()) return 'empty selector';
  const parts = splitTopLevel(text);
  if (typeof parts === 'string') return parts;
  const requirements: Requirement[] = [];
  for (const p of parts) {
    const r = parseRequirement(p);
    if (typeof r === 'string') return r;
    requirements.push(r);
  }
  return { requirements, text: text.trim() };
}

export function matchesSelector(sel: Selector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return sel.requirements.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'exists':
        return has;
      case 'notexists':
        return !has;
      case 'eq':
        return has && v === r.values[0];
      case 'neq':
        return !has || v !== r.values[0];
      case 'in':
        return has && r.values.includes(v ?? '');
      case 'notin':
        return !has || !r.values.includes(v ?? '');
    }
  });
}
