// Checks the generated schemas against the rules the API server applies to CRDs (structural
// schemas, list-map keys, defaults, CEL field paths) and against our own documentation rule, so
// that a mistake shows up here, with a path, rather than as a rejected `kubectl apply`.
import { describe, expect, it } from 'vitest';

import { buildCrds } from './crds.js';
import type { JSONSchemaProps, JsonValue } from './schema.js';
import { EXTENSION_PREFIX } from './schema.js';

interface Visit {
  path: string;
  node: JSONSchemaProps;
  /** How the node was reached. */
  via: 'root' | 'property' | 'items' | 'additionalProperties';
}

function walk(node: JSONSchemaProps, path: string, via: Visit['via'], out: Visit[]): Visit[] {
  out.push({ path, node, via });
  for (const [key, child] of Object.entries(node.properties ?? {})) walk(child, `${path}.${key}`, 'property', out);
  if (node.items) walk(node.items, `${path}[*]`, 'items', out);
  if (node.additionalProperties) walk(node.additionalProperties, `${path}{*}`, 'additionalProperties', out);
  return out;
}

const crds = buildCrds();
const visits: Array<Visit & { kind: string }> = crds.flatMap((crd) => {
  const root = crd.spec.versions[0]?.schema.openAPIV3Schema;
  if (!root) throw new Error(`${crd.metadata.name} has no schema`);
  return walk(root, crd.spec.names.kind, 'root', []).map((v) => ({ ...v, kind: crd.spec.names.kind }));
});

const ALLOWED_KEYS = new Set([
  'type', 'format', 'description', 'default', 'enum', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum',
  'minItems', 'maxItems', 'minProperties', 'maxProperties', 'properties', 'required', 'additionalProperties', 'items',
  'anyOf', 'x-kubernetes-validations', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type', 'x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields',
]);

function matchesType(value: JsonValue, node: JSONSchemaProps): boolean {
  switch (node.type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    default:
      return true;
  }
}

describe('every schema node', () => {
  it('is documented: each field (and each object in a list or map) has a description', () => {
    const missing = visits
      .filter(({ path, node, via }) => {
        // The API server forbids anything but `type` on the root metadata.
        if (/^\w+\.metadata$/.test(path)) return false;
        const isScalar = node.type !== 'object' && node.type !== 'array' && !node['x-kubernetes-int-or-string'];
        if ((via === 'items' || via === 'additionalProperties') && isScalar) return false;
        return !node.description || node.description.trim().length === 0;
      })
      .map((v) => v.path);
    expect(missing).toEqual([]);
  });

  it('has a type, except int-or-string nodes, which use the one anyOf form the API server allows', () => {
    const bad = visits.filter(({ node }) => {
      if (node['x-kubernetes-int-or-string']) {
        return (
          node.type !== undefined ||
          JSON.stringify(node.anyOf) !== JSON.stringify([{ type: 'integer' }, { type: 'string' }])
        );
      }
      return node.type === undefined || node.anyOf !== undefined;
    });
    expect(bad.map((v) => v.path)).toEqual([]);
  });

  it('uses only keys a CRD schema may contain (no $ref, allOf, oneOf, nullable, x-kubernetes-patch-*)', () => {
    const bad = visits.flatMap(({ path, node }) =>
      Object.keys(node)
        .filter((k) => !ALLOWED_KEYS.has(k))
        .map((k) => `${path}: ${k}`),
    );
    expect(bad).toEqual([]);
  });

  it('is an object with properties or additionalProperties (never both), or an array with items', () => {
    const bad = visits.filter(({ path, node }) => {
      if (/^\w+\.metadata$/.test(path)) return false;
      if (node.type === 'object') {
        const hasProps = node.properties !== undefined;
        const hasAdditional = node.additionalProperties !== undefined;
        return hasProps === hasAdditional && !node['x-kubernetes-preserve-unknown-fields'];
      }
      if (node.type === 'array') return node.items === undefined;
      return node.properties !== undefined || node.items !== undefined || node.additionalProperties !== undefined;
    });
    expect(bad.map((v) => v.path)).toEqual([]);
  });

  it('never preserves unknown fields, so strict field validation and pruning apply everywhere', () => {
    expect(visits.filter(({ node }) => node['x-kubernetes-preserve-unknown-fields']).map((v) => v.path)).toEqual([]);
  });

  it('requires only fields it declares', () => {
    const bad = visits.flatMap(({ path, node }) =>
      (node.required ?? []).filter((r) => !node.properties?.[r]).map((r) => `${path}.${r}`),
    );
    expect(bad).toEqual([]);
  });

  it('keys list-maps on scalar fields that are required or defaulted', () => {
    const bad: string[] = [];
    for (const { path, node } of visits) {
      const listType = node['x-kubernetes-list-type'];
      const keys = node['x-kubernetes-list-map-keys'];
      if (keys && listType !== 'map') bad.push(`${path}: list-map-keys without list-type map`);
      if (listType !== 'map') continue;
      const items = node.items;
      if (items?.type !== 'object' || !keys?.length) {
        bad.push(`${path}: list-type map needs object items and keys`);
        continue;
      }
      for (const key of keys) {
        const prop = items.properties?.[key];
        if (!prop) bad.push(`${path}: key ${key} is not a property`);
        else if (!items.required?.includes(key) && prop.default === undefined) bad.push(`${path}: key ${key} optional`);
        else if (prop.type === 'object' || prop.type === 'array') bad.push(`${path}: key ${key} not scalar`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('has defaults and enum members of its own type, within its own bounds', () => {
    const bad: string[] = [];
    for (const { path, node } of visits) {
      for (const value of [...(node.default !== undefined ? [node.default] : []), ...(node.enum ?? [])]) {
        if (!matchesType(value, node)) bad.push(`${path}: ${JSON.stringify(value)} is not a ${node.type}`);
        if (typeof value === 'string' && node.pattern && value !== '' && !new RegExp(node.pattern, 'u').test(value)) {
          bad.push(`${path}: ${value} does not match its pattern`);
        }
        if (typeof value === 'number') {
          if (node.minimum !== undefined && value < node.minimum) bad.push(`${path}: ${value} < minimum`);
          if (node.maximum !== undefined && value > node.maximum) bad.push(`${path}: ${value} > maximum`);
        }
      }
      if (node.default !== undefined && node.enum && !node.enum.includes(node.default)) {
        bad.push(`${path}: default is not one of the enum`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('has patterns that compile and bounds that make sense', () => {
    const bad: string[] = [];
    for (const { path, node } of visits) {
      if (node.pattern !== undefined) {
        try {
          new RegExp(node.pattern, 'u');
        } catch (err) {
          bad.push(`${path}: ${String(err)}`);
        }
        if (!node.pattern.startsWith('^') || !node.pattern.endsWith('$')) {
          // Quantity is the one upstream pattern; it is anchored too.
          bad.push(`${path}: pattern is not anchored`);
        }
      }
      if (node.minimum !== undefined && node.maximum !== undefined && node.minimum > node.maximum) bad.push(path);
      if (node.minLength !== undefined && node.maxLength !== undefined && node.minLength > node.maxLength) bad.push(path);
      if (node.minItems !== undefined && node.maxItems !== undefined && node.minItems > node.maxItems) bad.push(path);
    }
    expect(bad).toEqual([]);
  });

  it('has CEL rules with a message and, where set, a fieldPath naming a declared field', () => {
    const bad: string[] = [];
    for (const { path, node } of visits) {
      for (const r of node['x-kubernetes-validations'] ?? []) {
        if (!r.message && !r.messageExpression) bad.push(`${path}: rule ${r.rule} has no message`);
        if (r.fieldPath === undefined) continue;
        let target: JSONSchemaProps | undefined = node;
        for (const segment of r.fieldPath.split('.').slice(1)) target = target?.properties?.[segment];
        if (!target) bad.push(`${path}: fieldPath ${r.fieldPath} does not exist`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('bounds every map or list that a CEL rule iterates, so the API server accepts the rule cost', () => {
    const bad = visits
      .filter(({ node }) => (node['x-kubernetes-validations'] ?? []).some((r) => /\bself(\.\w+)*\.(all|exists|exists_one|filter|map)\(/.test(r.rule)))
      .filter(({ node }) => node.maxItems === undefined && node.maxProperties === undefined)
      .map((v) => v.path);
    expect(bad).toEqual([]);
  });
});

describe('extensions', () => {
  it('are optional: no field described as ours is required', () => {
    const bad: string[] = [];
    for (const { path, node } of visits) {
      for (const [key, child] of Object.entries(node.properties ?? {})) {
        if (child.description?.startsWith(EXTENSION_PREFIX) && node.required?.includes(key)) bad.push(`${path}.${key}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('are the ones we mean to have (update this list, and docs/api.md, when adding one)', () => {
    const extensions = visits
      .filter(({ node, via }) => via === 'property' && node.description?.startsWith(EXTENSION_PREFIX))
      .map((v) => v.path)
      .sort();
    expect(extensions).toEqual(
      [
        'CacheServer.spec.podDisruptionBudget',
        'CacheServer.status',
        'CacheServer.status.conditions',
        'CacheServer.status.observedGeneration',
        'CacheServer.status.phase',
        'FrontProxy.spec.podDisruptionBudget',
        'FrontProxy.status.observedGeneration',
        'Kubeconfig.spec.serverURL',
        'Kubeconfig.spec.target.joinRef',
        'Kubeconfig.status.notAfter',
        'Kubeconfig.status.observedGeneration',
        'Kubeconfig.status.renewalTime',
        'RootShard.spec.federation',
        'RootShard.spec.podDisruptionBudget',
        'RootShard.spec.proxy.podDisruptionBudget',
        'RootShard.spec.release',
        'RootShard.status.federatedShards',
        'RootShard.status.observedGeneration',
        'RootShard.status.rollout',
        'Shard.spec.podDisruptionBudget',
        'Shard.spec.rootShard.joinRef',
        'Shard.status.observedGeneration',
        'VirtualWorkspace.spec.podDisruptionBudget',
        'VirtualWorkspace.status.observedGeneration',
        'VirtualWorkspace.status.phase',
      ].sort(),
    );
  });
});
