// The TypeScript interfaces in src/api are written by hand; the schemas are the source of truth.
// This test compiles src/api/index.ts with the TypeScript compiler and walks each kind's interface
// beside its schema, so that a field added, renamed, or made optional on one side only fails here.
// Embedded Kubernetes types (client-node's V1*) are compared by name only, not field by field.
import { fileURLToPath } from 'node:url';

import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

import { KIND_DEFINITIONS, rootSchema } from './crds.js';
import type { JSONSchemaProps } from './schema.js';

const INDEX = fileURLToPath(new URL('./index.ts', import.meta.url));

// Objects read from the API server always carry these, whatever the schema says.
const ALWAYS_PRESENT_AT_ROOT = new Set(['apiVersion', 'kind', 'metadata']);

let checker: ts.TypeChecker;
let exported: Map<string, ts.Type>;

beforeAll(() => {
  const program = ts.createProgram([INDEX], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    resolveJsonModule: true,
    noEmit: true,
    types: ['node'],
  });
  checker = program.getTypeChecker();
  const source = program.getSourceFile(INDEX);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error('cannot load src/api/index.ts');
  exported = new Map();
  for (let symbol of checker.getExportsOfModule(moduleSymbol)) {
    const name = symbol.name;
    if (symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    if (symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias)) {
      exported.set(name, checker.getDeclaredTypeOfSymbol(symbol));
    }
  }
}, 60_000);

function typeName(type: ts.Type): string {
  return (type.aliasSymbol ?? type.getSymbol())?.name ?? checker.typeToString(type);
}

function isStringLike(type: ts.Type): boolean {
  if (type.isUnion()) return type.types.every(isStringLike);
  return (type.flags & ts.TypeFlags.StringLike) !== 0;
}

function isNumberLike(type: ts.Type): boolean {
  if (type.isUnion()) return type.types.every(isNumberLike);
  return (type.flags & ts.TypeFlags.NumberLike) !== 0;
}

function isBooleanLike(type: ts.Type): boolean {
  return (type.flags & ts.TypeFlags.BooleanLike) !== 0;
}

/** Differences between a TypeScript type and a schema node, as readable lines. */
function compare(type: ts.Type, schema: JSONSchemaProps, path: string, root = false): string[] {
  const t = checker.getNonNullableType(type);
  if (typeName(t).startsWith('V1')) return [];

  if (schema['x-kubernetes-int-or-string']) {
    return isStringLike(t) || t.isUnion() ? [] : [`${path}: int-or-string in schema, ${checker.typeToString(t)} in TS`];
  }
  switch (schema.type) {
    case 'string':
      return isStringLike(t) ? [] : [`${path}: string in schema, ${checker.typeToString(t)} in TS`];
    case 'integer':
    case 'number':
      return isNumberLike(t) ? [] : [`${path}: number in schema, ${checker.typeToString(t)} in TS`];
    case 'boolean':
      return isBooleanLike(t) ? [] : [`${path}: boolean in schema, ${checker.typeToString(t)} in TS`];
    case 'array': {
      if (!checker.isArrayType(t)) return [`${path}: array in schema, ${checker.typeToString(t)} in TS`];
      const element = checker.getTypeArguments(t as ts.TypeReference)[0];
      return element && schema.items ? compare(element, schema.items, `${path}[*]`) : [];
    }
    case 'object':
      break;
    default:
      return [`${path}: schema node without type`];
  }

  if (schema.additionalProperties) {
    const values = schema.additionalProperties;
    const index = checker.getIndexInfoOfType(t, ts.IndexKind.String);
    if (index) return compare(index.type, values, `${path}{*}`);
    // A Partial<Record<KnownKey, T>>: every known key must fit the value schema.
    const props = checker.getPropertiesOfType(t);
    if (props.length === 0) return [`${path}: map in schema, ${checker.typeToString(t)} in TS`];
    return props.flatMap((p) => compare(checker.getTypeOfSymbol(p), values, `${path}.${p.name}`));
  }

  const diffs: string[] = [];
  const schemaProps = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const tsProps = new Map(checker.getPropertiesOfType(t).map((p) => [p.name, p]));
  if (Object.keys(schemaProps).length === 0 && tsProps.size > 0 && !root) {
    return [`${path}: object without properties in schema, ${checker.typeToString(t)} in TS`];
  }
  for (const name of Object.keys(schemaProps)) {
    if (!tsProps.has(name)) diffs.push(`${path}.${name}: in the schema, missing from the TS type ${typeName(t)}`);
  }
  for (const [name, prop] of tsProps) {
    const child = schemaProps[name];
    if (!child) {
      diffs.push(`${path}.${name}: in the TS type ${typeName(t)}, missing from the schema`);
      continue;
    }
    const optional = (prop.flags & ts.SymbolFlags.Optional) !== 0;
    if (!(root && ALWAYS_PRESENT_AT_ROOT.has(name)) && optional === required.has(name)) {
      diffs.push(`${path}.${name}: ${required.has(name) ? 'required' : 'optional'} in the schema, ${optional ? 'optional' : 'required'} in TS`);
    }
    diffs.push(...compare(checker.getTypeOfSymbol(prop), child, `${path}.${name}`));
  }
  return diffs;
}

describe('hand-written TypeScript types', () => {
  for (const def of KIND_DEFINITIONS) {
    it(`${def.names.kind} matches its schema field by field`, () => {
      const type = exported.get(def.names.kind);
      expect(type, `src/api/index.ts exports no type ${def.names.kind}`).toBeDefined();
      expect(compare(type as ts.Type, rootSchema(def), def.names.kind, true)).toEqual([]);
    });
  }

  it('notices a difference (self-test on a deliberately wrong schema)', () => {
    const type = exported.get('RootShard') as ts.Type;
    const schema = rootSchema(KIND_DEFINITIONS[0] as (typeof KIND_DEFINITIONS)[0]);
    const spec = schema.properties?.['spec'];
    if (!spec?.properties) throw new Error('RootShard schema has no spec');
    delete spec.properties['replicas'];
    spec.properties['replica'] = { type: 'integer', description: 'typo' };
    spec.required = [...(spec.required ?? []), 'proxy'];
    const diffs = compare(type, schema, 'RootShard', true);
    expect(diffs).toEqual(
      expect.arrayContaining([
        expect.stringContaining('RootShard.spec.replica: in the schema'),
        expect.stringContaining('RootShard.spec.replicas: in the TS type'),
        expect.stringContaining('RootShard.spec.proxy: required in the schema, optional in TS'),
      ]),
    );
  });
});
