// fast-check arbitraries derived from the CRD schemas in src/api/ (the same JSONSchemaProps the
// CRDs are generated from), so a field added to the API is fuzzed without touching this file.
// `schemaArbitrary` follows the structural schema (types, enums, patterns, bounds, required keys);
// CEL rules are not modelled, so many "well-shaped" specs still break one and are rejected: valid
// and invalid arrive mixed. `fuzzedSpec` then breaks about half of them on purpose in one place
// (wrong type, bound or enum, unknown field, missing required field, oversized string).
import fc from 'fast-check';
import type { JSONSchemaProps, JsonValue } from '../../src/api/schema.js';

/** Object names the fuzzed references may hit: the objects the real sample creates first. */
export const KNOWN_NAMES = ['root', 'shard', 'front', 'cache', 'vw'] as const;

// Strings that reach the parsers behind a spec: durations, URLs, host names, images, quantities,
// CEL-unfriendly characters. Mixed with structural ones below.
const INTERESTING = [
  '', ' ', '1h', '8760h', '0s', '-1h', '1h30m', '2562047h', '99999999999h', 'h', '1.5h', '10m0s', 'abc',
  'https://example.com', 'https://example.com:6443/path', 'http://[::1]:80', 'https://', '://x', 'example.com',
  'root.example.com', 'EXAMPLE.com', '127.0.0.1', '::1', '999.1.1.1', 'a..b', '-x-', 'x'.repeat(64),
  'ghcr.io/kcp-dev/kcp:v0.32.3', 'kcp@sha256:abc', ':latest', '100m', '1Gi', 'NaN', 'null', '0', '-0', '1e400',
  'system:masters', 'system:kcp:admin', 'root:org', ':', '\u0000', '\u202e', '%s%n', '${x}', '--flag=x', 'a b\nc',
];

function stringArbitrary(node: JSONSchemaProps, key: string): fc.Arbitrary<string> {
  if (node.enum) return fc.constantFrom(...(node.enum.filter((v) => typeof v === 'string') as string[]));
  if (node.format === 'date-time') return fc.date({ min: new Date(0), max: new Date(4102444800000), noInvalidDate: true }).map((d) => d.toISOString());
  if (node.format === 'byte') return fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b).toString('base64'));
  // Mostly strings a field could hold (its pattern, a DNS label, a known object name), so that
  // enough specs are admitted to exercise reconcile; the odd ones now and then.
  const options: Array<fc.WeightedArbitrary<string>> = [];
  if (node.pattern !== undefined) {
    try {
      options.push({ arbitrary: fc.stringMatching(new RegExp(node.pattern)).filter((s) => s.length <= (node.maxLength ?? 253)), weight: 12 });
    } catch {
      // A pattern fast-check cannot generate from: the other generators still run.
    }
  }
  const dns = fc.stringMatching(/^[a-z]([a-z0-9-]{0,14}[a-z0-9])?$/);
  if (key === 'name') options.push({ arbitrary: fc.constantFrom(...KNOWN_NAMES), weight: 4 });
  // Fields whose CEL rules want a URL or a Go duration (the schema says so only in CEL): mostly such.
  if (/URL$|^endpoints$|^backend$|^url$/.test(key)) options.push({ arbitrary: fc.tuple(fc.constantFrom('https', 'http'), dns, fc.integer({ min: 1, max: 65535 })).map(([p, h, n]) => `${p}://${h}.example:${n}`), weight: 24 });
  if (/^(validity|duration|renewBefore)$/.test(key)) options.push({ arbitrary: fc.tuple(fc.integer({ min: 1, max: 9000 }), fc.constantFrom('h', 'm', 's', 'h30m')).map(([n, u]) => `${n}${u}`), weight: 24 });
  options.push({ arbitrary: dns, weight: 6 }, { arbitrary: fc.constantFrom(...INTERESTING), weight: 1 }, { arbitrary: fc.string({ maxLength: 12, unit: 'binary' }), weight: 1 });
  const min = node.minLength ?? 0;
  const max = node.maxLength ?? Infinity;
  return fc.oneof(...options).map((s: string) => (s.length < min ? s.padEnd(min, 'a') : s.length > max ? s.slice(0, max) : s));
}

function integerArbitrary(node: JSONSchemaProps): fc.Arbitrary<number> {
  const lo = node.minimum ?? -5;
  const hi = node.maximum ?? 70_000;
  return fc.oneof(fc.integer({ min: Math.max(lo, -5), max: Math.min(hi, 10) }), fc.integer({ min: lo, max: hi }));
}

/**
 * Values that satisfy the structure of `node` (not its CEL rules). `depth` bounds nesting;
 * optional properties are present less often the deeper they are, so specs stay small.
 */
export function schemaArbitrary(node: JSONSchemaProps, key = '', depth = 0): fc.Arbitrary<JsonValue> {
  if (node['x-kubernetes-int-or-string']) return fc.oneof(fc.integer({ min: 0, max: 10 }), fc.constantFrom('1', '50%', '0%', '100%', 'x'));
  if (node['x-kubernetes-preserve-unknown-fields'] && !node.properties) {
    return fc.oneof(fc.constant({}), fc.dictionary(fc.constantFrom('a', 'b', 'name'), fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), { maxKeys: 2 }));
  }
  if (node.anyOf && !node.type) return fc.oneof(...node.anyOf.map((a) => schemaArbitrary(a, key, depth)));
  switch (node.type) {
    case 'string':
      return stringArbitrary(node, key);
    case 'integer':
      return integerArbitrary(node);
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 });
    case 'boolean':
      return fc.boolean();
    case 'array': {
      const items = node.items ?? { type: 'string' };
      const maxLength = Math.min(node.maxItems ?? 3, 3);
      return fc.array(schemaArbitrary(items, key, depth + 1), { minLength: Math.min(node.minItems ?? 0, maxLength), maxLength });
    }
    case 'object':
    default: {
      if (node.properties) {
        const required = new Set(node.required ?? []);
        const entries = Object.entries(node.properties);
        if (depth >= 4) {
          const only = entries.filter(([k]) => required.has(k));
          return fc.record(Object.fromEntries(only.map(([k, v]) => [k, schemaArbitrary(v, k, depth + 1)]))) as fc.Arbitrary<JsonValue>;
        }
        // Each optional property is present with probability 1/(2 + depth): specs stay small, and
        // only the chosen subtrees are generated at all (fc.oneof is lazy).
        const absent = 2 + depth;
        const model = Object.fromEntries(
          entries.map(([k, v]) => [
            k,
            required.has(k) ? schemaArbitrary(v, k, depth + 1) : fc.oneof({ arbitrary: fc.constant(undefined), weight: absent }, { arbitrary: schemaArbitrary(v, k, depth + 1), weight: 1 }),
          ]),
        );
        return fc.record(model).map((rec) => {
          const out: Record<string, JsonValue> = {};
          for (const [k, v] of Object.entries(rec)) if (v !== undefined) out[k] = v as JsonValue;
          return out;
        });
      }
      if (node.additionalProperties) {
        const maxKeys = Math.min(node.maxProperties ?? 2, 2);
        return fc.dictionary(stringArbitrary({ type: 'string' }, ''), schemaArbitrary(node.additionalProperties, key, depth + 1), { maxKeys });
      }
      return fc.constant({});
    }
  }
}

type Mutation = 'wrongType' | 'outOfRange' | 'badEnum' | 'unknownField' | 'dropRequired' | 'hugeString' | 'nullValue';
const MUTATIONS: readonly Mutation[] = ['wrongType', 'outOfRange', 'badEnum', 'unknownField', 'dropRequired', 'hugeString', 'nullValue'];

interface Site {
  parent: Record<string, JsonValue> | JsonValue[];
  key: string | number;
  node: JSONSchemaProps;
}

/** Every (container, key, schema) position in `value`, depth first. */
function sites(value: JsonValue, node: JSONSchemaProps, out: Site[] = []): Site[] {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push({ parent: value, key: i, node: node.items ?? {} });
      sites(v, node.items ?? {}, out);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const child = node.properties?.[k] ?? node.additionalProperties ?? {};
      out.push({ parent: value, key: k, node: child });
      sites(v, child, out);
    }
  }
  return out;
}

/** Breaks `spec` (a fresh copy) in one place chosen by `pick`. */
export function mutate(spec: JsonValue, schema: JSONSchemaProps, mutation: Mutation, pick: number): { spec: JsonValue; what: string } {
  const copy = structuredClone(spec);
  const all = sites(copy, schema);
  const site = all[pick % Math.max(all.length, 1)];
  if (!site) return { spec: { ...(copy as object), ['x-unknown']: 1 }, what: 'unknownField at spec' };
  const set = (v: JsonValue) => ((site.parent as Record<string, JsonValue>)[site.key as string] = v);
  const at = `${mutation} at ${String(site.key)}`;
  switch (mutation) {
    case 'wrongType':
      set(site.node.type === 'string' ? 12345 : site.node.type === 'object' ? 'not-an-object' : { unexpected: true });
      break;
    case 'outOfRange':
      set(site.node.type === 'integer' ? (site.node.maximum ?? 2 ** 31) + 1 : -1);
      break;
    case 'badEnum':
      set('NotAnEnumMember');
      break;
    case 'unknownField': {
      const target = site.node.type === 'object' && typeof (site.parent as Record<string, unknown>)[site.key] === 'object' ? (site.parent as Record<string, JsonValue>)[site.key as string] : copy;
      if (target && typeof target === 'object' && !Array.isArray(target)) (target as Record<string, JsonValue>).fuzzUnknownField = 'x';
      else set({ fuzzUnknownField: 'x' });
      break;
    }
    case 'dropRequired':
      if (Array.isArray(site.parent)) site.parent.splice(site.key as number, 1);
      else delete site.parent[site.key as string];
      break;
    case 'hugeString':
      set('x'.repeat(4096));
      break;
    case 'nullValue':
      set(null);
      break;
  }
  return { spec: copy, what: at };
}

export interface FuzzedSpec {
  spec: JsonValue;
  /** The deliberate break, if any ("wrongType at port", …). */
  mutation?: string;
}

/** A spec of the kind whose spec schema is `schema`: well-shaped half the time, broken in one place otherwise. */
export function fuzzedSpec(schema: JSONSchemaProps): fc.Arbitrary<FuzzedSpec> {
  return fc
    .tuple(schemaArbitrary(schema, 'spec'), fc.boolean(), fc.constantFrom(...MUTATIONS), fc.nat())
    .map(([spec, broken, mutation, pick]) => {
      if (!broken) return { spec };
      const m = mutate(spec, schema, mutation, pick);
      return { spec: m.spec, mutation: m.what };
    });
}
