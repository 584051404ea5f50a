// Assembles the CustomResourceDefinitions of operator.kcp.io/v1alpha1 from the per-kind schemas and
// renders them as YAML. hack/gen-crds.ts writes the result to crds/; a unit test checks crds/ is
// what this module renders, so the schemas here are the only place the API is defined.
import { stringify } from 'yaml';

import { cacheServerSpecSchema, cacheServerStatusSchema } from './cacheserver.js';
import { frontProxySpecSchema, frontProxyStatusSchema } from './frontproxy.js';
import { kubeconfigSpecSchema, kubeconfigStatusSchema } from './kubeconfig.js';
import {
  API_GROUP,
  API_VERSION,
  CACHE_SERVER,
  crdName,
  FRONT_PROXY,
  KUBECONFIG,
  ROOT_SHARD,
  SHARD,
  VIRTUAL_WORKSPACE,
  type KindNames,
} from './names.js';
import { rootShardSpecSchema, rootShardStatusSchema } from './rootshard.js';
import { object, string, type JSONSchemaProps } from './schema.js';
import { shardSpecSchema, shardStatusSchema } from './shard.js';
import { virtualWorkspaceSpecSchema, virtualWorkspaceStatusSchema } from './virtualworkspace.js';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

/** A CustomResourceDefinition as we generate it (apiextensions.k8s.io/v1, one version). */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames?: string[];
      categories?: string[];
    };
    scope: 'Namespaced';
    versions: Array<{
      name: string;
      served: true;
      storage: true;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: JSONSchemaProps };
    }>;
  };
}

/** Everything that differs between kinds. */
export interface KindDefinition {
  names: KindNames;
  description: string;
  spec: () => JSONSchemaProps;
  status: () => JSONSchemaProps;
  /** Whether `spec` must be present (false only for CacheServer, whose spec defaults to `{}`). */
  specRequired: boolean;
  columns: PrinterColumn[];
}

const phaseColumn: PrinterColumn = {
  name: 'Phase',
  type: 'string',
  jsonPath: '.status.phase',
  description: 'Lifecycle phase.',
};
const availableColumn: PrinterColumn = {
  name: 'Available',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Available")].status',
  description: 'Status of the Available condition.',
};
const ageColumn: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since the object was created.',
};

export const KIND_DEFINITIONS: readonly KindDefinition[] = [
  {
    names: ROOT_SHARD,
    description:
      'A RootShard is the nucleus of a kcp installation: its PKI, the root shard Deployment and Service, internal ' +
      'kubeconfigs and, unless a CacheServer is referenced, the embedded cache.',
    spec: rootShardSpecSchema,
    status: rootShardStatusSchema,
    specRequired: true,
    columns: [
      { name: 'Hostname', type: 'string', jsonPath: '.spec.external.hostname', description: 'Public host name.' },
      phaseColumn,
      availableColumn,
      { name: 'Rollout', type: 'string', jsonPath: '.status.rollout.summary', description: 'Progress of spec.release (ours).' },
      ageColumn,
    ],
  },
  {
    names: SHARD,
    description:
      'A Shard is an additional kcp shard that joins the installation of a RootShard, with certificates signed by ' +
      'that RootShard\'s CAs.',
    spec: shardSpecSchema,
    status: shardStatusSchema,
    specRequired: true,
    columns: [
      { name: 'RootShard', type: 'string', jsonPath: '.spec.rootShard.ref.name', description: 'The RootShard joined.' },
      phaseColumn,
      availableColumn,
      ageColumn,
    ],
  },
  {
    names: FRONT_PROXY,
    description:
      'A FrontProxy is a kcp-front-proxy that authenticates users and routes /clusters/<workspace> requests to the ' +
      'shard that holds the workspace.',
    spec: frontProxySpecSchema,
    status: frontProxyStatusSchema,
    specRequired: true,
    columns: [
      { name: 'RootShard', type: 'string', jsonPath: '.spec.rootShard.ref.name', description: 'The RootShard served.' },
      {
        name: 'ExternalHostname',
        type: 'string',
        jsonPath: '.spec.externalHostname',
        description: 'Deprecated public host name (spec.externalHostname).',
      },
      {
        name: 'Hostname',
        type: 'string',
        jsonPath: '.spec.external.hostname',
        description: 'Public host name (spec.external.hostname).',
        priority: 1,
      },
      phaseColumn,
      availableColumn,
      ageColumn,
    ],
  },
  {
    names: CACHE_SERVER,
    description:
      'A CacheServer is a standalone kcp cache server that shards replicate shared objects through, used instead of ' +
      'the cache embedded in the root shard.',
    spec: cacheServerSpecSchema,
    status: cacheServerStatusSchema,
    specRequired: false,
    columns: [
      { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas', description: 'Requested Pods.', priority: 1 },
      phaseColumn,
      availableColumn,
      ageColumn,
    ],
  },
  {
    names: KUBECONFIG,
    description:
      'A Kubeconfig is a kubeconfig Secret with a client certificate for a user and groups, pointing at a RootShard, ' +
      'a Shard or a FrontProxy, renewed before the certificate expires.',
    spec: kubeconfigSpecSchema,
    status: kubeconfigStatusSchema,
    specRequired: true,
    columns: [
      { name: 'Target', type: 'string', jsonPath: '.status.targetName', description: 'The resolved target.' },
      phaseColumn,
      availableColumn,
      {
        name: 'Expires',
        // A date column would print "<invalid>" for a time in the future.
        type: 'string',
        jsonPath: '.status.notAfter',
        description: 'Expiry time of the current certificate.',
      },
      ageColumn,
    ],
  },
  {
    names: VIRTUAL_WORKSPACE,
    description:
      'A VirtualWorkspace is a standalone virtual-workspace server (kcp\'s own, or a custom one) for a RootShard or a ' +
      'Shard, with certificates signed by the RootShard\'s CAs. A shard that names it in spec.kcpVirtualWorkspace ' +
      'stops serving virtual workspaces itself.',
    spec: virtualWorkspaceSpecSchema,
    status: virtualWorkspaceStatusSchema,
    specRequired: true,
    columns: [
      {
        name: 'RootShard',
        type: 'string',
        jsonPath: '.spec.target.rootShardRef.name',
        description: 'The RootShard served (target.rootShardRef).',
      },
      { name: 'Shard', type: 'string', jsonPath: '.spec.target.shardRef.name', description: 'The Shard served (target.shardRef).' },
      phaseColumn,
      availableColumn,
      ageColumn,
    ],
  },
];

/** The root (openAPIV3Schema) of a kind. */
export function rootSchema(def: KindDefinition): JSONSchemaProps {
  return object(
    def.description,
    {
      apiVersion: string(
        'Versioned schema of this representation of the object; `operator.kcp.io/v1alpha1`.',
      ),
      kind: string(`Kind of the object; \`${def.names.kind}\`.`),
      // The API server forbids anything but `type` here (a description included).
      metadata: { type: 'object' },
      spec: def.spec(),
      status: def.status(),
    },
    def.specRequired ? { required: ['spec'] } : {},
  );
}

// Sorted properties make the YAML independent of how the builders happen to be written.
function sortProperties(node: JSONSchemaProps): JSONSchemaProps {
  const out: JSONSchemaProps = { ...node };
  if (node.properties) {
    out.properties = {};
    for (const key of Object.keys(node.properties).sort()) {
      out.properties[key] = sortProperties(node.properties[key] as JSONSchemaProps);
    }
  }
  if (node.items) out.items = sortProperties(node.items);
  if (node.additionalProperties) out.additionalProperties = sortProperties(node.additionalProperties);
  if (node.anyOf) out.anyOf = node.anyOf.map(sortProperties);
  return out;
}

export function buildCrd(def: KindDefinition): CustomResourceDefinition {
  const { kind, listKind, plural, singular, shortNames, categories } = def.names;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: crdName(def.names),
      labels: { 'app.kubernetes.io/part-of': 'kcp-operator-ts' },
    },
    spec: {
      group: API_GROUP,
      names: {
        kind,
        listKind,
        plural,
        singular,
        ...(shortNames.length > 0 ? { shortNames: [...shortNames] } : {}),
        ...(categories.length > 0 ? { categories: [...categories] } : {}),
      },
      scope: 'Namespaced',
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.columns.map((c) => ({ ...c })),
          schema: { openAPIV3Schema: sortProperties(rootSchema(def)) },
        },
      ],
    },
  };
}

export function buildCrds(): CustomResourceDefinition[] {
  return KIND_DEFINITIONS.map(buildCrd);
}

const HEADER = '# Generated by hack/gen-crds.ts from src/api; do not edit. Regenerate with `make crds`.\n';

export function renderCrdYaml(crd: CustomResourceDefinition): string {
  return HEADER + stringify(crd, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** The crds/ directory as it should be: file name to content. */
export function renderCrdFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const crd of buildCrds()) {
    files.set(`${API_GROUP}_${crd.spec.names.plural}.yaml`, renderCrdYaml(crd));
  }
  return files;
}
