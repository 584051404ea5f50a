// Turns the vendored Kubernetes OpenAPI v3 component schemas (core-v1.openapi.json) into the
// structural, reference-free schemas a CRD may contain. This is what `controller-gen` does for
// embedded core types; doing it ourselves keeps crds/ reproducible from this repository alone.
import type { JSONSchemaProps, JsonValue } from '../schema.js';
import type { CoreRoot } from './core-roots.js';
import vendored from './core-v1.openapi.json' with { type: 'json' };

interface OpenApiNode {
  $ref?: string;
  allOf?: OpenApiNode[];
  oneOf?: OpenApiNode[];
  type?: string;
  format?: string;
  description?: string;
  default?: JsonValue;
  properties?: Record<string, OpenApiNode>;
  required?: string[];
  items?: OpenApiNode;
  additionalProperties?: OpenApiNode | boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

const SCHEMAS = (vendored as unknown as { schemas: Record<string, OpenApiNode> }).schemas;

/** The Kubernetes release the vendored schemas come from. */
export const CORE_SCHEMAS_KUBERNETES_VERSION: string = (vendored as { kubernetesVersion: string }).kubernetesVersion;

const REF_PREFIX = '#/components/schemas/';

// The same grammar apimachinery's resource.Quantity parser accepts.
const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

const KEPT_FORMATS = new Set(['int32', 'int64', 'double', 'byte', 'date-time']);

function special(name: string, description: string): JSONSchemaProps | undefined {
  switch (name) {
    case 'io.k8s.apimachinery.pkg.api.resource.Quantity':
      return {
        description,
        anyOf: [{ type: 'integer' }, { type: 'string' }],
        pattern: QUANTITY_PATTERN,
        'x-kubernetes-int-or-string': true,
      };
    case 'io.k8s.apimachinery.pkg.util.intstr.IntOrString':
      return { description, anyOf: [{ type: 'integer' }, { type: 'string' }], 'x-kubernetes-int-or-string': true };
    case 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta':
      // Only labels and annotations of an embedded template are used by Kubernetes; modelling
      // them (rather than an empty object) keeps them from being pruned.
      return {
        type: 'object',
        description,
        properties: {
          annotations: {
            type: 'object',
            description: 'Annotations copied to the object created from this template.',
            additionalProperties: { type: 'string' },
          },
          labels: {
            type: 'object',
            description: 'Labels copied to the object created from this template.',
            additionalProperties: { type: 'string' },
          },
        },
      };
    default:
      return undefined;
  }
}

function refName(node: OpenApiNode): string | undefined {
  if (node.$ref) return node.$ref.slice(REF_PREFIX.length);
  const only = node.allOf?.length === 1 ? node.allOf[0] : undefined;
  return only?.$ref ? only.$ref.slice(REF_PREFIX.length) : undefined;
}

function convert(node: OpenApiNode, stack: readonly string[]): JSONSchemaProps {
  const ref = refName(node);
  if (ref !== undefined) {
    const target = SCHEMAS[ref];
    if (!target) throw new Error(`vendored core schemas lack ${ref}; rerun extract-core-schemas.ts`);
    if (stack.includes(ref)) throw new Error(`recursive schema ${[...stack, ref].join(' -> ')} cannot be inlined`);
    const description = node.description ?? target.description ?? '';
    const replaced = special(ref, description);
    if (replaced) return replaced;
    const converted = convert(target, [...stack, ref]);
    if (node.description) converted.description = node.description;
    return converted;
  }

  const out: JSONSchemaProps = {};
  if (node.description) out.description = node.description;
  const type = node.type ?? (node.properties || node.additionalProperties ? 'object' : undefined);
  if (type) out.type = type as JSONSchemaProps['type'];
  if (node.format && KEPT_FORMATS.has(node.format)) out.format = node.format;
  if (node.properties) {
    out.properties = {};
    for (const key of Object.keys(node.properties).sort()) {
      out.properties[key] = convert(node.properties[key] as OpenApiNode, stack);
    }
  }
  if (node.required && node.required.length > 0) out.required = [...node.required];
  if (node.items) out.items = convert(node.items, stack);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') {
    out.additionalProperties = convert(node.additionalProperties, stack);
  }
  if (node['x-kubernetes-list-type']) out['x-kubernetes-list-type'] = node['x-kubernetes-list-type'];
  if (node['x-kubernetes-list-map-keys']) {
    out['x-kubernetes-list-map-keys'] = [...node['x-kubernetes-list-map-keys']];
    keepListMapKeyDefaults(node, out);
  }
  if (node['x-kubernetes-map-type']) out['x-kubernetes-map-type'] = node['x-kubernetes-map-type'];
  return out;
}

// Defaults are dropped (Kubernetes applies its own when the Pod is created), except on list-map
// keys that are not required: the API server insists those have a default.
function keepListMapKeyDefaults(source: OpenApiNode, out: JSONSchemaProps): void {
  const items = out.items;
  const sourceItems = source.items ? resolve(source.items) : undefined;
  if (!items?.properties || !sourceItems?.properties) return;
  for (const key of out['x-kubernetes-list-map-keys'] ?? []) {
    if (items.required?.includes(key)) continue;
    const def = sourceItems.properties[key]?.default;
    const prop = items.properties[key];
    if (prop && def !== undefined) prop.default = structuredClone(def);
  }
}

function resolve(node: OpenApiNode): OpenApiNode {
  const ref = refName(node);
  return ref !== undefined ? (SCHEMAS[ref] ?? node) : node;
}

/** A fresh structural schema for an embedded Kubernetes core type, under the given description. */
export function coreSchema(root: CoreRoot, description: string): JSONSchemaProps {
  const converted = convert({ $ref: REF_PREFIX + root }, []);
  converted.description = description;
  return converted;
}
