// Small shapes shared by several kinds: references, images, logging, extra args and volumes,
// external addresses, etcd.
import type { V1LocalObjectReference } from '@kubernetes/client-node';

import {
  DNS1123_SUBDOMAIN,
  ETCD_ENDPOINT,
  HOSTNAME,
  IMAGE_REPOSITORY,
  IMAGE_TAG,
} from './formats.js';
import { coreSchema } from './k8s/core-schemas.js';
import { array, integer, object, string, type JSONSchemaProps } from './schema.js';

/** The image kcp-operator (and we) default to for every kcp component. */
export const DEFAULT_IMAGE_REPOSITORY = 'ghcr.io/kcp-dev/kcp';

/** The cluster DNS domain assumed when `clusterDomain` is not set. */
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** A reference to an object by name in the object's own namespace. */
export interface LocalObjectReference {
  name: string;
}

/** A reference to a named object of a given kind and group (cert-manager issuers). */
export interface ObjectReference {
  name: string;
  kind?: string;
  group?: string;
}

/** A key within a namespace-local ConfigMap or Secret. */
export interface LocalDataKeyReference {
  name: string;
  key: string;
}

/** Which container image to run. */
export interface ImageSpec {
  repository?: string;
  tag?: string;
  imagePullSecrets?: V1LocalObjectReference[];
}

/** Log verbosity of a kcp component. */
export interface LoggingSpec {
  /** `-v` level, 0 to 10. */
  level?: number;
}

/**
 * The pre-release name of `logging` that kcp-operator's sample manifests still carry.
 * @deprecated use {@link LoggingSpec}; honoured only when `logging.level` is unset.
 */
export interface LogLevelSpec {
  verbosityLevel?: number;
}

/** How clients outside the cluster reach a kcp installation. */
export interface ExternalConfig {
  hostname: string;
  port: number;
  privateHostname?: string;
  privatePort?: number;
}

/** The etcd cluster a shard or cache server stores its data in. */
export interface EtcdConfig {
  endpoints: string[];
  tlsConfig?: EtcdTLSConfig;
  prefix?: string;
}

export interface EtcdTLSConfig {
  /** A Secret with `tls.crt`, `tls.key` and `ca.crt` for the etcd client. */
  secretRef: LocalObjectReference;
}

/** The `name` of a same-namespace reference to an object of kind `what`. */
const refName = (what: string): JSONSchemaProps =>
  string(`Name of the ${what}, in the same namespace as this object.`, {
    pattern: DNS1123_SUBDOMAIN,
    minLength: 1,
    maxLength: 253,
  });

/** A reference by name to an object of kind `what` in the same namespace. */
export function localRef(description: string, what: string): JSONSchemaProps {
  return object(
    description,
    {
      name: refName(what),
    },
    { required: ['name'], mapType: 'atomic' },
  );
}

/** A reference to a key in a ConfigMap or Secret in the same namespace. */
export function localDataKeyRef(description: string, what: string): JSONSchemaProps {
  return object(
    description,
    {
      name: refName(what),
      key: string(`Key within the ${what}'s data that holds the content.`, {
        minLength: 1,
        maxLength: 253,
        pattern: '^[-._a-zA-Z0-9]+$',
      }),
    },
    { required: ['name', 'key'], mapType: 'atomic' },
  );
}

export function imageSpec(description: string): JSONSchemaProps {
  const pullSecret = coreSchema(
    'io.k8s.api.core.v1.LocalObjectReference',
    'A Secret of type kubernetes.io/dockerconfigjson in the same namespace.',
  );
  // imagePullSecrets is a list keyed by name, and list keys need a value or a default.
  const name = pullSecret.properties?.['name'];
  if (name) name.default = '';
  return object(description, {
    repository: string(
      `Image repository without tag, for example \`${DEFAULT_IMAGE_REPOSITORY}\` or \`registry.example.com/mirror/kcp\`. ` +
        `Defaults to \`${DEFAULT_IMAGE_REPOSITORY}\`.`,
      { pattern: IMAGE_REPOSITORY, maxLength: 255 },
    ),
    tag: string(
      'Image tag, for example `v0.32.3`. Defaults to the kcp release this operator version is tested with. ' +
        'The tag also decides which command-line flags are passed, since kcp releases differ in the flags they accept.',
      { pattern: IMAGE_TAG },
    ),
    imagePullSecrets: array(
      'Secrets holding registry credentials, for pulling from a private registry. They are added to the Pod template.',
      pullSecret,
    ),
  });
}

export function loggingSpec(description: string): JSONSchemaProps {
  return object(description, {
    level: integer(
      'Verbosity of the component\'s logs, passed as `-v=<level>`: 0 logs only important messages, ' +
        '4 is useful for debugging, 10 logs every request. Unset means the component\'s default (0).',
      { minimum: 0, maximum: 10 },
    ),
  });
}

export function logLevelSpec(description: string): JSONSchemaProps {
  return object(description, {
    verbosityLevel: integer(
      'Deprecated: use `logging.level`. Verbosity passed as `-v=<level>`, used only when `logging.level` is unset.',
      { minimum: 0, maximum: 10 },
    ),
  });
}

export function replicas(description: string, defaultValue?: number): JSONSchemaProps {
  return integer(description, {
    minimum: 0,
    ...(defaultValue !== undefined ? { default: defaultValue } : {}),
  });
}

export function resources(description: string): JSONSchemaProps {
  return coreSchema('io.k8s.api.core.v1.ResourceRequirements', description);
}

export function extraArgs(description: string): JSONSchemaProps {
  return array(description, string('One command-line argument, for example `--feature-gates=Foo=true`.'));
}

export function extraVolumes(description: string): JSONSchemaProps {
  return array(description, coreSchema('io.k8s.api.core.v1.Volume', 'A volume added to the Pod, as in a Pod spec.'), {
    listType: 'map',
    listMapKeys: ['name'],
  });
}

export function extraVolumeMounts(description: string): JSONSchemaProps {
  return array(
    description,
    coreSchema(
      'io.k8s.api.core.v1.VolumeMount',
      'A mount added to the main container. Its `name` must be a volume from `extraVolumes` or one the operator manages.',
    ),
    { listType: 'map', listMapKeys: ['name'] },
  );
}

export function port(description: string): JSONSchemaProps {
  return integer(description, { minimum: 1, maximum: 65535 });
}

export function externalConfig(description: string): JSONSchemaProps {
  return object(
    description,
    {
      hostname: string(
        'Public DNS name of the installation, for example `kcp.example.com`. A DNS record for it must point at the ' +
          'front-proxy Service (or the load balancer in front of it). It is used in server certificates and generated kubeconfigs.',
        { pattern: HOSTNAME, maxLength: 253 },
      ),
      port: port('Public port of the front-proxy, as clients see it (often 443 or 6443).'),
      privateHostname: string(
        'Host name that kcp components inside the cluster use to reach the front-proxy, when it differs from `hostname` ' +
          '(for example when the public name goes through a TLS-terminating load balancer). Defaults to `hostname`.',
        { pattern: HOSTNAME, maxLength: 253 },
      ),
      privatePort: port('Port that goes with `privateHostname`. Defaults to `port`.'),
    },
    { required: ['hostname', 'port'] },
  );
}

export function etcdConfig(description: string): JSONSchemaProps {
  return object(
    description,
    {
      endpoints: array(
        'etcd client URLs, for example `https://etcd-0.etcd.kcp.svc.cluster.local:2379`. Use https together with `tlsConfig`.',
        string('One etcd client URL: scheme, host and optional port.', { pattern: ETCD_ENDPOINT, maxLength: 512 }),
        { minItems: 1 },
      ),
      tlsConfig: object(
        'Client certificate for etcd. Without it the connection is made without a client certificate.',
        {
          secretRef: localRef(
            'A Secret (type kubernetes.io/tls) with `tls.crt`, `tls.key` and `ca.crt` used to connect to etcd.',
            'Secret',
          ),
        },
        { required: ['secretRef'] },
      ),
      prefix: string(
        'Key prefix under which the data is stored in etcd. Set it to share one etcd cluster between several shards. ' +
          'Unset means the component\'s own default prefix.',
        { pattern: '^/?[-_./a-zA-Z0-9]*$', maxLength: 256 },
      ),
    },
    { required: ['endpoints'] },
  );
}

export function clusterDomain(): JSONSchemaProps {
  return string(
    `DNS domain of the Kubernetes cluster, used to build in-cluster service names. Defaults to \`${DEFAULT_CLUSTER_DOMAIN}\`.`,
    { pattern: HOSTNAME, maxLength: 253, default: DEFAULT_CLUSTER_DOMAIN },
  );
}
