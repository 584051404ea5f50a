// Fields RootShard and Shard have in common (kcp-operator's CommonShardSpec).
import type { V1ResourceRequirements, V1Volume, V1VolumeMount } from '@kubernetes/client-node';

import { auditSpec, authorizationSpec, authSpec } from './auth.js';
import type { AuditSpec, AuthorizationSpec, AuthSpec } from './auth.js';
import { certificateTemplates } from './certificates.js';
import { podDisruptionBudget, type PodDisruptionBudgetSpec } from './disruption.js';
import type { CertificateTemplateMap } from './certificates.js';
import {
  clusterDomain,
  etcdConfig,
  extraArgs,
  extraVolumeMounts,
  extraVolumes,
  imageSpec,
  localRef,
  loggingSpec,
  logLevelSpec,
  replicas,
  resources,
} from './common.js';
import type { EtcdConfig, ImageSpec, LocalObjectReference, LoggingSpec, LogLevelSpec } from './common.js';
import { HTTPS_URL } from './formats.js';
import { rule, string, type ValidationRule } from './schema.js';
import { deploymentTemplate, serviceTemplate } from './templates.js';
import type { DeploymentTemplate, ServiceTemplate } from './templates.js';

export const DEFAULT_SHARD_REPLICAS = 2;

export interface CommonShardSpec {
  clusterDomain?: string;
  shardBaseURL?: string;
  etcd: EtcdConfig;
  image?: ImageSpec;
  replicas?: number;
  resources?: V1ResourceRequirements;
  audit?: AuditSpec;
  authorization?: AuthorizationSpec;
  auth?: AuthSpec;
  kcpVirtualWorkspace?: LocalObjectReference;
  certificateTemplates?: CertificateTemplateMap;
  serviceTemplate?: ServiceTemplate;
  deploymentTemplate?: DeploymentTemplate;
  /** Ours: see {@link PodDisruptionBudgetSpec}. */
  podDisruptionBudget?: PodDisruptionBudgetSpec;
  caBundleSecretRef?: LocalObjectReference;
  clientCABundleRef?: LocalObjectReference;
  extraArgs?: string[];
  extraVolumes?: V1Volume[];
  extraVolumeMounts?: V1VolumeMount[];
  logging?: LoggingSpec;
  /** @deprecated see {@link LogLevelSpec}. */
  logLevel?: LogLevelSpec;
}

/** The properties of CommonShardSpec; `what` is "root shard" or "shard". */
export function commonShardProperties(what: string) {
  return {
    clusterDomain: clusterDomain(),
    shardBaseURL: string(
      `Base URL under which this ${what} is reachable directly (not through the front-proxy), for example ` +
        '`https://shard-1.kcp.example.com:6443`. Published to kcp (for APIExportEndpointSlices and workspace URLs); ' +
        'its host name must then be covered by the server certificate (see `certificateTemplates.server`). ' +
        'Defaults to the in-cluster Service URL.',
      { pattern: HTTPS_URL, maxLength: 2048 },
    ),
    etcd: etcdConfig(`The etcd cluster this ${what} stores its data in.`),
    image: imageSpec(`The kcp container image for this ${what}.`),
    replicas: replicas(`Number of ${what} Pods. Defaults to ${DEFAULT_SHARD_REPLICAS}.`, DEFAULT_SHARD_REPLICAS),
    resources: resources(`CPU and memory requests and limits of the kcp container, replacing the operator's defaults.`),
    audit: auditSpec(`Audit logging of this ${what}.`),
    authorization: authorizationSpec(`Additional authorization of requests to this ${what}.`),
    auth: authSpec(`How this ${what} authenticates users.`),
    kcpVirtualWorkspace: localRef(
      `A VirtualWorkspace object that serves kcp's virtual workspaces (apiexport, initializingworkspaces, ...) for ` +
        `this ${what}. Unset (the usual case): the ${what} serves them itself.`,
      'VirtualWorkspace',
    ),
    certificateTemplates: certificateTemplates(`Customisations of the certificates issued for this ${what}.`),
    serviceTemplate: serviceTemplate(`Customisations of the ${what}'s Service.`),
    deploymentTemplate: deploymentTemplate(`Customisations of the ${what}'s Deployment.`),
    podDisruptionBudget: podDisruptionBudget(what),
    caBundleSecretRef: localRef(
      'A Secret whose `tls.crt` holds the CA bundle that clients should use to verify this server, when its serving ' +
        'certificate does not chain to the installation\'s CA. It is written into the generated ' +
        'external-logical-cluster-admin kubeconfig; it does not change the server\'s own certificate.',
      'Secret',
    ),
    clientCABundleRef: localRef(
      'A Secret whose `tls.crt` holds extra client CA certificates to trust, merged with the installation\'s client CA. ' +
        'Set on a RootShard, it is inherited by the Shards and FrontProxies of that installation.',
      'Secret',
    ),
    extraArgs: extraArgs(`Extra command-line arguments for the kcp container of this ${what}, appended to the operator's.`),
    extraVolumes: extraVolumes(
      `Extra volumes for the ${what} Pod, for example an EncryptionConfiguration used with ` +
        '`--encryption-provider-config` in `extraArgs`.',
    ),
    extraVolumeMounts: extraVolumeMounts(`Extra volume mounts for the kcp container of this ${what}.`),
    logging: loggingSpec(`Logging of this ${what}.`),
    logLevel: logLevelSpec(
      'Deprecated: use `logging`. An early name of `logging` that kcp-operator\'s sample manifests still carry; ' +
        'accepted so those manifests apply unchanged. `logLevel.verbosityLevel` is used only when `logging.level` is unset.',
    ),
  };
}

/** Rules on a spec that has both `logging` and the deprecated `logLevel`. */
export function logLevelRules(): ValidationRule[] {
  return [
    rule(
      '!has(self.logLevel) || !has(self.logLevel.verbosityLevel) || !has(self.logging) || !has(self.logging.level) || ' +
        'self.logging.level == self.logLevel.verbosityLevel',
      'logLevel.verbosityLevel is a deprecated alias of logging.level and must not disagree with it; remove logLevel',
      { fieldPath: '.logLevel.verbosityLevel' },
    ),
  ];
}
