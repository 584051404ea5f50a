// A small builder for OpenAPI v3 structural schemas (the dialect CustomResourceDefinitions accept).
// Every builder takes the field's description first, so a field without documentation cannot be
// written by accident, and returns a fresh plain object, so one schema may be embedded in many
// places without the YAML writer emitting anchors.

/** Any JSON value (schema defaults, enum members). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** One `x-kubernetes-validations` entry: a CEL rule evaluated by the API server at admission. */
export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  /** Path, relative to the node carrying the rule, that the error is reported on. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps that we generate. */
export interface JSONSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  description?: string;
  default?: JsonValue;
  enum?: JsonValue[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  additionalProperties?: JSONSchemaProps;
  items?: JSONSchemaProps;
  anyOf?: JSONSchemaProps[];
  'x-kubernetes-validations'?: ValidationRule[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
}

/** Descriptions of fields kcp-operator does not have start with this. */
export const EXTENSION_PREFIX = '(kcp-operator-ts extension)';

/** Marks a description as one of our additions to kcp-operator's API. */
export function extension(description: string): string {
  return `${EXTENSION_PREFIX} ${description}`;
}

interface Common {
  default?: JsonValue;
  rules?: ValidationRule[];
}

export interface StringOptions extends Common {
  pattern?: string;
  enum?: readonly string[];
  format?: 'date-time' | 'byte';
  minLength?: number;
  maxLength?: number;
}

export interface IntegerOptions extends Common {
  format?: 'int32' | 'int64';
  minimum?: number;
  maximum?: number;
}

export interface ArrayOptions extends Common {
  listType?: 'atomic' | 'set' | 'map';
  listMapKeys?: readonly string[];
  minItems?: number;
  maxItems?: number;
}

export interface MapOptions extends Common {
  maxProperties?: number;
  mapType?: 'atomic' | 'granular';
}

export interface ObjectOptions<K extends string> extends Common {
  required?: readonly K[];
  mapType?: 'atomic' | 'granular';
}

function finish(node: JSONSchemaProps, opts: Common): JSONSchemaProps {
  if (opts.default !== undefined) node.default = structuredClone(opts.default);
  if (opts.rules && opts.rules.length > 0) node['x-kubernetes-validations'] = opts.rules.map((r) => ({ ...r }));
  return node;
}

export function string(description: string, opts: StringOptions = {}): JSONSchemaProps {
  const node: JSONSchemaProps = { type: 'string', description };
  if (opts.format) node.format = opts.format;
  if (opts.enum) node.enum = [...opts.enum];
  if (opts.pattern !== undefined) node.pattern = opts.pattern;
  if (opts.minLength !== undefined) node.minLength = opts.minLength;
  if (opts.maxLength !== undefined) node.maxLength = opts.maxLength;
  return finish(node, opts);
}

export function integer(description: string, opts: IntegerOptions = {}): JSONSchemaProps {
  const node: JSONSchemaProps = { type: 'integer', description, format: opts.format ?? 'int32' };
  if (opts.minimum !== undefined) node.minimum = opts.minimum;
  if (opts.maximum !== undefined) node.maximum = opts.maximum;
  return finish(node, opts);
}

export function boolean(description: string, opts: Common = {}): JSONSchemaProps {
  return finish({ type: 'boolean', description }, opts);
}

export function array(description: string, items: JSONSchemaProps, opts: ArrayOptions = {}): JSONSchemaProps {
  const node: JSONSchemaProps = { type: 'array', description, items };
  if (opts.minItems !== undefined) node.minItems = opts.minItems;
  if (opts.maxItems !== undefined) node.maxItems = opts.maxItems;
  if (opts.listType) node['x-kubernetes-list-type'] = opts.listType;
  if (opts.listMapKeys) node['x-kubernetes-list-map-keys'] = [...opts.listMapKeys];
  return finish(node, opts);
}

/** A map from arbitrary string keys to values of one schema. */
export function map(description: string, values: JSONSchemaProps, opts: MapOptions = {}): JSONSchemaProps {
  const node: JSONSchemaProps = { type: 'object', description, additionalProperties: values };
  if (opts.maxProperties !== undefined) node.maxProperties = opts.maxProperties;
  if (opts.mapType) node['x-kubernetes-map-type'] = opts.mapType;
  return finish(node, opts);
}

/** A map[string]string, as used for labels and annotations. */
export function stringMap(description: string, opts: MapOptions = {}): JSONSchemaProps {
  return map(description, { type: 'string' }, opts);
}

export function object<P extends Record<string, JSONSchemaProps>>(
  description: string,
  properties: P,
  opts: ObjectOptions<Extract<keyof P, string>> = {},
): JSONSchemaProps {
  const node: JSONSchemaProps = { type: 'object', description, properties };
  if (opts.required && opts.required.length > 0) node.required = [...opts.required];
  if (opts.mapType) node['x-kubernetes-map-type'] = opts.mapType;
  return finish(node, opts);
}

/** A CEL rule with a message for people. */
export function rule(
  celRule: string,
  message: string,
  opts: Omit<ValidationRule, 'rule' | 'message'> = {},
): ValidationRule {
  return { rule: celRule, message, ...opts };
}

/** Copies a schema and replaces its description (for reusing a shared shape under a new field). */
export function describe(node: JSONSchemaProps, description: string): JSONSchemaProps {
  return { ...structuredClone(node), description };
}

/** Copies a schema with extra CEL rules appended. */
export function withRules(node: JSONSchemaProps, ...rules: ValidationRule[]): JSONSchemaProps {
  const copy = structuredClone(node);
  copy['x-kubernetes-validations'] = [...(copy['x-kubernetes-validations'] ?? []), ...rules];
  return copy;
}
