// CacheServer: a standalone kcp cache server, used instead of the root shard's embedded cache.
import type { V1ObjectMeta, V1Volume, V1VolumeMount } from '@kubernetes/client-node';

import { certificatesSchema, certificateTemplates } from './certificates.js';
import { podDisruptionBudget, type PodDisruptionBudgetSpec } from './disruption.js';
import type { Certificates, CertificateTemplateMap } from './certificates.js';
import {
  clusterDomain,
  etcdConfig,
  extraArgs,
  extraVolumeMounts,
  extraVolumes,
  imageSpec,
  loggingSpec,
  replicas,
} from './common.js';
import type { EtcdConfig, ImageSpec, LoggingSpec } from './common.js';
import type { API_GROUP_VERSION, CACHE_SERVER } from './names.js';
import { extension, object, rule, type JSONSchemaProps } from './schema.js';
import { statusSchema, WORKLOAD_PHASES, type CommonStatus, type WorkloadPhase } from './status.js';
import { deploymentTemplate, serviceTemplate } from './templates.js';
import type { DeploymentTemplate, ServiceTemplate } from './templates.js';

export interface CacheServer {
  apiVersion: typeof API_GROUP_VERSION;
  kind: typeof CACHE_SERVER.kind;
  metadata: V1ObjectMeta;
  /** Defaulted to `{}` by the API server, so present on every object read back. */
  spec?: CacheServerSpec;
  status?: CacheServerStatus;
}

export interface CacheServerSpec {
  clusterDomain?: string;
  image?: ImageSpec;
  /** Defaults to 1 with the embedded etcd, 2 with an external one. */
  replicas?: number;
  logging?: LoggingSpec;
  /** Unset or empty: built-in PKI with a self-signed root CA of its own. */
  certificates?: Certificates;
  certificateTemplates?: CertificateTemplateMap;
  serviceTemplate?: ServiceTemplate;
  deploymentTemplate?: DeploymentTemplate;
  /** Ours: see {@link PodDisruptionBudgetSpec}. */
  podDisruptionBudget?: PodDisruptionBudgetSpec;
  /** Unset: an embedded etcd (single replica, data lost with the Pod). */
  etcd?: EtcdConfig;
  extraArgs?: string[];
  extraVolumes?: V1Volume[];
  extraVolumeMounts?: V1VolumeMount[];
}

export type CacheServerPhase = WorkloadPhase;

/** kcp-operator's CacheServer has no status; all of this is ours. */
export type CacheServerStatus = CommonStatus<CacheServerPhase>;

export function cacheServerSpecSchema(): JSONSchemaProps {
  return object(
    'Desired state of a standalone kcp cache server. Every field is optional: an empty spec runs one replica with ' +
      'an embedded etcd and the built-in PKI.',
    {
      clusterDomain: clusterDomain(),
      image: imageSpec('The kcp container image for the cache server.'),
      replicas: replicas(
        'Number of cache server Pods. Defaults to 1 with the embedded etcd and to 2 with an external `etcd`; more than ' +
          '1 requires `etcd`, since the embedded etcd cannot be shared between Pods.',
      ),
      logging: loggingSpec('Logging of the cache server.'),
      certificates: certificatesSchema(
        'Where the cache server\'s CA comes from. Leave it unset (or empty) for the built-in PKI: the operator creates ' +
          'a self-signed CA for this cache server and never regenerates it. kcp-operator requires this field; here it ' +
          'is optional, so its empty sample manifest applies.',
      ),
      certificateTemplates: certificateTemplates('Customisations of the cache server\'s certificates.'),
      serviceTemplate: serviceTemplate('Customisations of the cache server\'s Service.'),
      deploymentTemplate: deploymentTemplate('Customisations of the cache server\'s Deployment.'),
      podDisruptionBudget: podDisruptionBudget('cache server'),
      etcd: etcdConfig(
        'An external etcd cluster for the cache data. Unset: an embedded etcd inside the Pod, whose data does not ' +
          'survive the Pod (the cache is rebuilt from the shards).',
      ),
      extraArgs: extraArgs('Extra command-line arguments for the cache server container, appended to the operator\'s.'),
      extraVolumes: extraVolumes('Extra volumes for the cache server Pod.'),
      extraVolumeMounts: extraVolumeMounts('Extra volume mounts for the cache server container.'),
    },
    {
      default: {},
      rules: [
        rule(
          '!has(self.replicas) || self.replicas <= 1 || has(self.etcd)',
          'replicas greater than 1 requires spec.etcd (an external etcd): the embedded etcd cannot be shared between Pods',
          { fieldPath: '.replicas', reason: 'FieldValueForbidden' },
        ),
      ],
    },
  );
}

export function cacheServerStatusSchema(): JSONSchemaProps {
  return statusSchema(
    extension('Observed state of the CacheServer, written by the operator (kcp-operator has no CacheServer status).'),
    WORKLOAD_PHASES,
    'Lifecycle phase: `Provisioning` until the cache server is available, then `Running`; `Deleting` while it is ' +
      'being deleted; `Failed` when it cannot make progress without a change.',
    {},
    { phaseAndConditionsAreExtensions: true },
  );
}
