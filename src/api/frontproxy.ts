// FrontProxy: the kcp-front-proxy users connect to; routes /clusters/<workspace> to the right shard.
import type { V1ObjectMeta, V1ResourceRequirements, V1Volume, V1VolumeMount } from '@kubernetes/client-node';

import { authSpec, type AuthSpec } from './auth.js';
import { certificateTemplates, type CertificateTemplateMap } from './certificates.js';
import { podDisruptionBudget, type PodDisruptionBudgetSpec } from './disruption.js';
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
import { FILE_PATH, HOSTNAME, HTTP_URL, URL_PATH } from './formats.js';
import type { API_GROUP_VERSION, FRONT_PROXY } from './names.js';
import { array, object, rule, string, type JSONSchemaProps } from './schema.js';
import { rootShardConfig, type RootShardConfig } from './shard.js';
import { statusSchema, WORKLOAD_PHASES, type CommonStatus, type WorkloadPhase } from './status.js';
import { deploymentTemplate, serviceTemplate } from './templates.js';
import type { DeploymentTemplate, ServiceTemplate } from './templates.js';

export const DEFAULT_FRONT_PROXY_REPLICAS = 2;

export interface FrontProxy {
  apiVersion: typeof API_GROUP_VERSION;
  kind: typeof FRONT_PROXY.kind;
  metadata: V1ObjectMeta;
  spec: FrontProxySpec;
  status?: FrontProxyStatus;
}

export interface FrontProxySpec {
  rootShard: RootShardConfig;
  replicas?: number;
  resources?: V1ResourceRequirements;
  auth?: AuthSpec;
  additionalPathMappings?: PathMappingEntry[];
  image?: ImageSpec;
  /** @deprecated use `external.hostname`. */
  externalHostname?: string;
  external?: ExternalConfig;
  serviceTemplate?: ServiceTemplate;
  deploymentTemplate?: DeploymentTemplate;
  /** Ours: see {@link PodDisruptionBudgetSpec}. */
  podDisruptionBudget?: PodDisruptionBudgetSpec;
  certificateTemplates?: CertificateTemplateMap;
  caBundleSecretRef?: LocalObjectReference;
  clientCABundleRef?: LocalObjectReference;
  extraArgs?: string[];
  extraVolumes?: V1Volume[];
  extraVolumeMounts?: V1VolumeMount[];
  logging?: LoggingSpec;
}

/** One entry of the front-proxy's path mapping file (snake_case keys, as kcp reads them). */
export interface PathMappingEntry {
  path: string;
  backend: string;
  backend_server_ca: string;
  proxy_client_cert: string;
  proxy_client_key: string;
}

export type FrontProxyPhase = WorkloadPhase;

export type FrontProxyStatus = CommonStatus<FrontProxyPhase>;

export function frontProxySpecSchema(): JSONSchemaProps {
  return object(
    'Desired state of a kcp-front-proxy: the entry point users and their kubeconfigs connect to.',
    {
      rootShard: rootShardConfig('The installation this front-proxy serves.'),
      replicas: replicas(
        `Number of front-proxy Pods. Defaults to ${DEFAULT_FRONT_PROXY_REPLICAS}.`,
        DEFAULT_FRONT_PROXY_REPLICAS,
      ),
      resources: resources('CPU and memory requests and limits of the front-proxy container.'),
      auth: authSpec(
        'How the front-proxy authenticates users. Enabling `oidc` requires `serviceAccount.enabled`, because the ' +
          'front-proxy then validates every JWT, ServiceAccount tokens included.',
        { frontProxy: true },
      ),
      additionalPathMappings: array(
        'Extra routes: requests whose path starts with `path` go to `backend` instead of a shard (for example a ' +
          'custom virtual workspace). They are added to the operator\'s own mappings.',
        object(
          'One route of the front-proxy. Keys are snake_case because kcp reads this file format.',
          {
            path: string('URL path prefix to route, for example `/services/custom`.', { pattern: URL_PATH, maxLength: 1024 }),
            backend: string('URL of the backend that serves the path, for example `https://custom-vw.kcp.svc:6443`.', {
              pattern: HTTP_URL,
              maxLength: 2048,
            }),
            backend_server_ca: string(
              'Path, inside the front-proxy container, of the CA file that verifies the backend\'s serving certificate.',
              { pattern: FILE_PATH, maxLength: 4096 },
            ),
            proxy_client_cert: string(
              'Path, inside the front-proxy container, of the client certificate presented to the backend.',
              { pattern: FILE_PATH, maxLength: 4096 },
            ),
            proxy_client_key: string('Path, inside the front-proxy container, of the key of that client certificate.', {
              pattern: FILE_PATH,
              maxLength: 4096,
            }),
          },
          { required: ['path', 'backend', 'backend_server_ca', 'proxy_client_cert', 'proxy_client_key'] },
        ),
      ),
      image: imageSpec('The kcp container image for the front-proxy.'),
      externalHostname: string(
        'Deprecated: use `external.hostname`. Public host name of this front-proxy. Cannot be combined with ' +
          '`external.hostname`.',
        { pattern: HOSTNAME, maxLength: 253 },
      ),
      external: externalConfig(
        'The public address of this front-proxy, when it differs from the RootShard\'s `external` (for example a ' +
          'second front-proxy for another audience).',
      ),
      serviceTemplate: serviceTemplate('Customisations of the front-proxy\'s Service.'),
      deploymentTemplate: deploymentTemplate('Customisations of the front-proxy\'s Deployment.'),
      podDisruptionBudget: podDisruptionBudget('front-proxy'),
      certificateTemplates: certificateTemplates('Customisations of the front-proxy\'s certificates.'),
      caBundleSecretRef: localRef(
        'A Secret whose `tls.crt` holds the CA bundle that clients should use to verify this front-proxy, when its ' +
          'serving certificate does not chain to the installation\'s CA (for example a public certificate). It goes into ' +
          'generated kubeconfigs; it does not change the server\'s own certificate.',
        'Secret',
      ),
      clientCABundleRef: localRef(
        'A Secret whose `tls.crt` holds extra client CA certificates the front-proxy trusts, merged with the ' +
          'installation\'s client CA (useful while migrating clients from another CA).',
        'Secret',
      ),
      extraArgs: extraArgs('Extra command-line arguments for the front-proxy container, appended to the operator\'s.'),
      extraVolumes: extraVolumes('Extra volumes for the front-proxy Pod.'),
      extraVolumeMounts: extraVolumeMounts('Extra volume mounts for the front-proxy container.'),
      logging: loggingSpec('Logging of the front-proxy.'),
    },
    {
      required: ['rootShard'],
      rules: [
        rule(
          '!(has(self.externalHostname) && has(self.external) && has(self.external.hostname))',
          'externalHostname is deprecated and cannot be combined with external.hostname; move its value to external.hostname',
          { fieldPath: '.externalHostname', reason: 'FieldValueForbidden' },
        ),
      ],
    },
  );
}

export function frontProxyStatusSchema(): JSONSchemaProps {
  return statusSchema(
    'Observed state of the FrontProxy, written by the operator.',
    WORKLOAD_PHASES,
    'Lifecycle phase: `Provisioning` until the front-proxy is available, then `Running`; `Deleting` while it is ' +
      'being deleted; `Failed` (ours) when it cannot make progress without a change.',
  );
}
