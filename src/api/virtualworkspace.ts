// VirtualWorkspace: a standalone virtual-workspace server (kcp's own `/virtual-workspaces`, or a
// server built on the virtual-workspace framework) for one RootShard or Shard, outside the shard's
// process. A shard whose spec.kcpVirtualWorkspace names it stops serving virtual workspaces itself.
import type { V1ObjectMeta, V1ResourceRequirements, V1Volume, V1VolumeMount } from '@kubernetes/client-node';

import { certificateTemplates, type CertificateTemplateMap } from './certificates.js';
import {
  clusterDomain,
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
import type { API_GROUP_VERSION, VIRTUAL_WORKSPACE } from './names.js';
import { array, extension, object, rule, string, type JSONSchemaProps } from './schema.js';
import { statusSchema, WORKLOAD_PHASES, type CommonStatus, type WorkloadPhase } from './status.js';
import { deploymentTemplate, serviceTemplate } from './templates.js';
import { podDisruptionBudget, type PodDisruptionBudgetSpec } from './disruption.js';
import type { DeploymentTemplate, ServiceTemplate } from './templates.js';

export const DEFAULT_VIRTUAL_WORKSPACE_REPLICAS = 2;
/** The binary of kcp's own virtual-workspace server in the kcp image. */
export const DEFAULT_VIRTUAL_WORKSPACE_COMMAND = '/virtual-workspaces';

export interface VirtualWorkspace {
  apiVersion: typeof API_GROUP_VERSION;
  kind: typeof VIRTUAL_WORKSPACE.kind;
  metadata: V1ObjectMeta;
  spec: VirtualWorkspaceSpec;
  status?: VirtualWorkspaceStatus;
}

export interface VirtualWorkspaceSpec {
  target: VirtualWorkspaceTarget;
  external: ExternalConfig;
  image?: ImageSpec;
  /** Defaults to `/virtual-workspaces`. */
  command?: string[];
  initContainers?: VirtualWorkspaceInitContainer[];
  replicas?: number;
  resources?: V1ResourceRequirements;
  certificateTemplates?: CertificateTemplateMap;
  serviceTemplate?: ServiceTemplate;
  deploymentTemplate?: DeploymentTemplate;
  /** Ours: see {@link PodDisruptionBudgetSpec}. */
  podDisruptionBudget?: PodDisruptionBudgetSpec;
  caBundleSecretRef?: LocalObjectReference;
  clientCABundleRef?: LocalObjectReference;
  kubeconfigSecretRef?: LocalObjectReference;
  extraArgs?: string[];
  extraVolumes?: V1Volume[];
  extraVolumeMounts?: V1VolumeMount[];
  logging?: LoggingSpec;
  clusterDomain?: string;
}

/** Exactly one reference is set. */
export interface VirtualWorkspaceTarget {
  rootShardRef?: LocalObjectReference;
  shardRef?: LocalObjectReference;
}

export interface VirtualWorkspaceInitContainer {
  name: string;
  image?: ImageSpec;
  command?: string[];
  args?: string[];
  kubeconfigSecretRef?: LocalObjectReference;
  resources?: V1ResourceRequirements;
  volumes?: V1Volume[];
  volumeMounts?: V1VolumeMount[];
}

export type VirtualWorkspacePhase = WorkloadPhase;

/** kcp-operator's VirtualWorkspace status has conditions only; observedGeneration and phase are ours. */
export type VirtualWorkspaceStatus = CommonStatus<VirtualWorkspacePhase>;

function initContainer(): JSONSchemaProps {
  return object(
    'A container run to completion before the server starts, for the bootstrapping a custom server does against ' +
      'kcp (creating its workspace, installing its APIExport). It gets the certificates and kubeconfigs the operator ' +
      'mounts into the server container, but not the server\'s extraVolumeMounts.',
    {
      name: string('Name of the init container, unique within the VirtualWorkspace.', { minLength: 1, maxLength: 63 }),
      image: imageSpec('The container image. Defaults to the server container\'s image.'),
      command: array('Entrypoint of the init container, replacing the image\'s.', string('One element of the command.')),
      args: array('Arguments passed to the init container.', string('One argument.')),
      kubeconfigSecretRef: localRef(
        'A Secret with a `kubeconfig` key, mounted into this init container alone at `/etc/kcp/init-kubeconfig/kubeconfig`. ' +
          'Without it the init container gets the target\'s logical-cluster-admin kubeconfig, like the server.',
        'Secret',
      ),
      resources: resources('CPU and memory of the init container. Defaults to the server container\'s defaults.'),
      volumes: extraVolumes(
        'Volumes added to the Pod for this init container. A volume name declared several times (here, in other init ' +
          'containers or in `extraVolumes`) is added once: the first declaration wins.',
      ),
      volumeMounts: extraVolumeMounts('Mounts of this init container alone (not of the server or other init containers).'),
    },
    { required: ['name'] },
  );
}

export function virtualWorkspaceSpecSchema(): JSONSchemaProps {
  return object(
    'Desired state of a standalone virtual-workspace server: which shard it serves, where clients reach it, and how ' +
      'its Deployment runs. Its certificates are signed by the target\'s RootShard CAs.',
    {
      target: object(
        'The shard this server belongs to. Set exactly one of `rootShardRef` and `shardRef`.',
        {
          rootShardRef: localRef(
            'Serve the root shard (or, for a custom server, the whole installation through the root shard).',
            'RootShard',
          ),
          shardRef: localRef('Serve this Shard.', 'Shard'),
        },
        {
          rules: [
            rule(
              '[has(self.rootShardRef), has(self.shardRef)].filter(x, x).size() == 1',
              'exactly one of spec.target.rootShardRef and spec.target.shardRef must be set',
              { reason: 'FieldValueInvalid' },
            ),
          ],
        },
      ),
      external: externalConfig(
        'Where clients reach this server: kcp publishes `https://<hostname>:<port>` as the shard\'s virtual-workspace ' +
          'URL (APIExportEndpointSlices, workspace initializers). Usually the front-proxy\'s address, whose ' +
          '`/services/` path then leads here.',
      ),
      image: imageSpec('The container image of the server. Defaults to kcp\'s image, which ships `/virtual-workspaces`.'),
      command: array(
        `Entrypoint of the server container. Defaults to \`${DEFAULT_VIRTUAL_WORKSPACE_COMMAND}\` (kcp's own server); set ` +
          'it for an image that ships a different binary. Then only the flags every aggregated API server takes are ' +
          'generated (not kcp\'s `--shard-external-url` and `--cache-kubeconfig`); pass anything else in `extraArgs`.',
        string('One element of the command.'),
      ),
      initContainers: array('Containers run in order before the server starts.', initContainer(), {
        listType: 'map',
        listMapKeys: ['name'],
      }),
      replicas: replicas(
        `Number of server Pods. Defaults to ${DEFAULT_VIRTUAL_WORKSPACE_REPLICAS}.`,
        DEFAULT_VIRTUAL_WORKSPACE_REPLICAS,
      ),
      resources: resources('CPU and memory requests and limits of the server container, merged over the operator\'s defaults.'),
      certificateTemplates: certificateTemplates('Customisations of the server\'s certificates (`server`, `client`).'),
      serviceTemplate: serviceTemplate('Customisations of the server\'s Service.'),
      deploymentTemplate: deploymentTemplate('Customisations of the server\'s Deployment.'),
      podDisruptionBudget: podDisruptionBudget('virtual-workspace server'),
      caBundleSecretRef: localRef(
        'A Secret whose `tls.crt` holds a CA bundle for clients of this server (kcp-operator\'s field; not used to ' +
          'configure the server itself).',
        'Secret',
      ),
      clientCABundleRef: localRef(
        'A Secret whose `tls.crt` holds additional client CAs, trusted beside the RootShard\'s client CA (and its ' +
          '`clientCABundleRef`).',
        'Secret',
      ),
      kubeconfigSecretRef: localRef(
        'A Secret with a `kubeconfig` key that the server uses to reach kcp, mounted at ' +
          '`/etc/kcp/server-kubeconfig/kubeconfig`. Unset: the target\'s logical-cluster-admin kubeconfig with this ' +
          'server\'s own client certificate (`system:masters`).',
        'Secret',
      ),
      extraArgs: extraArgs('Extra command-line arguments for the server container, appended to the operator\'s.'),
      extraVolumes: extraVolumes('Extra volumes for the server Pod.'),
      extraVolumeMounts: extraVolumeMounts('Extra volume mounts for the server container (not for init containers).'),
      logging: loggingSpec('Logging of the server.'),
      clusterDomain: clusterDomain(),
    },
    { required: ['target', 'external'] },
  );
}

export function virtualWorkspaceStatusSchema(): JSONSchemaProps {
  const status = statusSchema(
    'Observed state of the VirtualWorkspace, written by the operator.',
    WORKLOAD_PHASES,
    'Lifecycle phase: `Provisioning` until the server is available, then `Running`; `Failed` when it cannot make ' +
      'progress without a change (see the conditions).',
  );
  const phase = status.properties?.['phase'];
  // kcp-operator's VirtualWorkspace status has conditions only.
  if (phase) phase.description = extension(phase.description ?? '');
  return status;
}
