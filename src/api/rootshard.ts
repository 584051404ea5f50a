// RootShard: the nucleus of a kcp installation (its PKI, the root shard, an optional embedded cache).
import type { V1ObjectMeta, V1ResourceRequirements, V1Volume, V1VolumeMount } from '@kubernetes/client-node';

import { certificatesSchema, certificateTemplates } from './certificates.js';
import type { Certificates, CertificateTemplateMap } from './certificates.js';
import {
  externalConfig,
  extraArgs,
  extraVolumeMounts,
  extraVolumes,
  imageSpec,
  localRef,
  loggingSpec,
  replicas,
  resources,
} from './common.js';
import type { ExternalConfig, ImageSpec, LocalObjectReference, LoggingSpec } from './common.js';
import type { API_GROUP_VERSION, ROOT_SHARD } from './names.js';
import { array, boolean, extension, integer, object, string, type JSONSchemaProps } from './schema.js';
import { commonShardProperties, logLevelRules, type CommonShardSpec } from './shard-common.js';
import { statusSchema, WORKLOAD_PHASES, type CommonStatus, type WorkloadPhase } from './status.js';
import { deploymentTemplate, serviceTemplate } from './templates.js';
import { podDisruptionBudget, type PodDisruptionBudgetSpec } from './disruption.js';
import type { DeploymentTemplate, ServiceTemplate } from './templates.js';
import { DNS1123_SUBDOMAIN } from './formats.js';
import { federationSchema, type RootShardFederation } from './federation.js';
import { releaseSchema, rolloutStatusSchema, type ReleaseSpec, type RolloutStatus } from './release.js';

export const DEFAULT_ROOT_SHARD_PROXY_REPLICAS = 2;

export interface RootShard {
  apiVersion: typeof API_GROUP_VERSION;
  kind: typeof ROOT_SHARD.kind;
  metadata: V1ObjectMeta;
  spec: RootShardSpec;
  status?: RootShardStatus;
}

export interface RootShardSpec extends CommonShardSpec {
  external: ExternalConfig;
  cache: RootShardCacheConfig;
  proxy?: RootShardProxySpec;
  /** Unset or empty: built-in PKI with a self-signed root CA. */
  certificates?: Certificates;
  /** Ours: remote shards this installation accepts (docs/federation.md). */
  federation?: RootShardFederation;
  /** Ours: the release its components follow and its gradual rollout (docs/rollouts.md). */
  release?: ReleaseSpec;
}

export interface RootShardCacheConfig {
  /** @deprecated the embedded cache is used whenever `ref` is unset. */
  embedded?: EmbeddedCacheConfiguration;
  ref?: LocalObjectReference;
}

export interface EmbeddedCacheConfiguration {
  enabled: boolean;
}

/** The operator-internal front-proxy of a RootShard. */
export interface RootShardProxySpec {
  image?: ImageSpec;
  replicas?: number;
  resources?: V1ResourceRequirements;
  serviceTemplate?: ServiceTemplate;
  deploymentTemplate?: DeploymentTemplate;
  /** Ours: see {@link PodDisruptionBudgetSpec}. */
  podDisruptionBudget?: PodDisruptionBudgetSpec;
  certificateTemplates?: CertificateTemplateMap;
  extraArgs?: string[];
  extraVolumes?: V1Volume[];
  extraVolumeMounts?: V1VolumeMount[];
  logging?: LoggingSpec;
}

export type RootShardPhase = WorkloadPhase;

export interface RootShardStatus extends CommonStatus<RootShardPhase> {
  shards?: ShardReference[];
  federatedShards?: FederatedShardStatus[];
  rollout?: RolloutStatus;
}

/** Ours: a remote shard that asked to join, and what became of it. */
export interface FederatedShardStatus {
  name: string;
  cluster: string;
  namespace: string;
  state: 'Joined' | 'Refused' | 'Pending';
  reason?: string;
  message?: string;
  generation?: number;
  notAfter?: string;
}

export interface ShardReference {
  name: string;
}

export function rootShardSpecSchema(): JSONSchemaProps {
  return object(
    'Desired state of a kcp installation\'s root shard. Everything else in the installation (Shards, FrontProxies, ' +
      'Kubeconfigs, an optional CacheServer) refers to a RootShard.',
    {
      ...commonShardProperties('root shard'),
      external: externalConfig(
        'The public address of the installation: where users reach the front-proxy. It goes into server ' +
          'certificates and generated kubeconfigs.',
      ),
      cache: object(
        'Which cache server the installation uses. Leave `ref` unset to run the cache embedded in the root shard.',
        {
          embedded: object(
            'Deprecated: the embedded cache is used whenever `ref` is unset, so this has no effect. Accepted for ' +
              'compatibility with existing manifests.',
            { enabled: boolean('Deprecated; no effect.') },
            { required: ['enabled'] },
          ),
          ref: localRef(
            'A CacheServer in the same namespace to use instead of the embedded cache. It takes precedence over `embedded`.',
            'CacheServer',
          ),
        },
      ),
      proxy: object(
        'The root shard\'s internal front-proxy, which the operator uses to reach every shard of the installation. ' +
          'It is not meant for users; create a FrontProxy for them.',
        {
          image: imageSpec('The kcp container image for the internal proxy.'),
          replicas: replicas(
            `Number of internal proxy Pods. Defaults to ${DEFAULT_ROOT_SHARD_PROXY_REPLICAS}.`,
            DEFAULT_ROOT_SHARD_PROXY_REPLICAS,
          ),
          resources: resources('CPU and memory requests and limits of the proxy container.'),
          serviceTemplate: serviceTemplate('Customisations of the internal proxy\'s Service.'),
          deploymentTemplate: deploymentTemplate('Customisations of the internal proxy\'s Deployment.'),
          podDisruptionBudget: podDisruptionBudget('internal proxy'),
          certificateTemplates: certificateTemplates('Customisations of the internal proxy\'s certificates.'),
          extraArgs: extraArgs('Extra command-line arguments for the proxy container, appended to the operator\'s.'),
          extraVolumes: extraVolumes('Extra volumes for the internal proxy Pod.'),
          extraVolumeMounts: extraVolumeMounts('Extra volume mounts for the proxy container.'),
          logging: loggingSpec('Logging of the internal proxy.'),
        },
      ),
      certificates: certificatesSchema(
        'Where the installation\'s root CA comes from; every other CA and certificate is derived from it. ' +
          'Leave it unset (or empty) for the built-in PKI: the operator creates a self-signed root CA and never ' +
          'regenerates it. kcp-operator requires this field; here it is optional.',
      ),
      federation: federationSchema(),
      release: releaseSchema(),
    },
    { required: ['etcd', 'external', 'cache'], rules: logLevelRules() },
  );
}

export function rootShardStatusSchema(): JSONSchemaProps {
  return statusSchema(
    'Observed state of the RootShard, written by the operator.',
    WORKLOAD_PHASES,
    'Lifecycle phase: `Provisioning` until the root shard is available, then `Running`; `Deleting` while it is ' +
      'being deleted; `Failed` (ours) when it cannot make progress without a change (see the conditions).',
    {
      shards: array(
        'Shards that have joined this installation.',
        object(
          'A shard of this installation.',
          { name: string('Name of the Shard object.', { pattern: DNS1123_SUBDOMAIN, maxLength: 253 }) },
          { required: ['name'] },
        ),
        { listType: 'map', listMapKeys: ['name'] },
      ),
      federatedShards: array(
        extension('Shards on other clusters that asked to join (spec.federation), and what became of their requests.'),
        object(
          'A remote shard\'s join request.',
          {
            name: string('Name of the Shard.', { maxLength: 253 }),
            cluster: string('The cluster it runs on (as its sync sidecar names itself).', { maxLength: 253 }),
            namespace: string('Its namespace there.', { maxLength: 253 }),
            state: string('`Joined`: its certificates are signed; `Refused`: nothing was signed (see reason); `Pending`: not decided yet.', {
              enum: ['Joined', 'Refused', 'Pending'],
            }),
            reason: string('Why, in one CamelCase word.', { maxLength: 128 }),
            message: string('Why, for people.', { maxLength: 1024 }),
            generation: integer('The request generation last signed.', { format: 'int64' }),
            notAfter: string('When the earliest certificate signed for it expires.', { format: 'date-time' }),
          },
          { required: ['name', 'cluster', 'namespace', 'state'] },
        ),
        { listType: 'map', listMapKeys: ['name'], maxItems: 1024 },
      ),
      rollout: rolloutStatusSchema(),
    },
  );
}
