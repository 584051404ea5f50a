// The Deployment and Service shape every kcp component shares (shards, front-proxy, cache server):
// one container on the port named https, the restricted security context, volumes from the
// component's mounts plus the user's extras, the mounts-hash annotation that rolls the Pods, and
// the user's deploymentTemplate / serviceTemplate on top.
import type { V1ResourceRequirements, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { ImageSpec } from '../../api/common.js';
import type { DeploymentTemplate, ServiceTemplate } from '../../api/templates.js';
import type { KubeObject } from '../../kube/object.js';
import { componentLabels, selectorLabels, type Component } from './labels.js';
import { controllerRef } from './owner.js';
import {
  applyDeploymentTemplate,
  applyServiceTemplate,
  imageRef,
  MOUNTS_HASH_ANNOTATION,
  restrictedSecurityContext,
  volumesFor,
  type Mount,
  type Probe,
} from './workload.js';

export const HTTPS_PORT = 6443;

export interface ComponentIdentity {
  /** Deployment and Service name. */
  name: string;
  namespace: string;
  /** The CR's name: the `app.kubernetes.io/instance` label. */
  instance: string;
  component: Component;
  owner: KubeObject;
}

export interface ComponentDeploymentInput extends ComponentIdentity {
  /** Undefined leaves replicas to whoever else sets them (an HPA). */
  replicas?: number;
  image: ImageSpec | undefined;
  container: {
    name: string;
    command: string[];
    args: string[];
    /** Extra container ports beyond https. */
    extraPorts?: Array<{ name: string; containerPort: number; protocol: 'TCP' }>;
    resources: V1ResourceRequirements | undefined;
    startupProbe?: Probe;
    readinessProbe?: Probe;
    livenessProbe?: Probe;
  };
  mounts: readonly Mount[];
  extraVolumes?: V1Volume[];
  extraVolumeMounts?: V1VolumeMount[];
  mountsHash: string;
  template: DeploymentTemplate | undefined;
}

export function componentDeployment(d: ComponentDeploymentInput): KubeObject {
  const { volumes, volumeMounts } = volumesFor(d.mounts);
  const c = d.container;
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: d.name,
      namespace: d.namespace,
      labels: componentLabels(d.instance, d.component),
      ownerReferences: [controllerRef(d.owner)],
    },
    spec: {
      ...(d.replicas !== undefined ? { replicas: d.replicas } : {}),
      selector: { matchLabels: selectorLabels(d.instance, d.component) },
      template: {
        metadata: { labels: componentLabels(d.instance, d.component), annotations: { [MOUNTS_HASH_ANNOTATION]: d.mountsHash } },
        spec: {
          // A name listed twice would make server-side apply refuse the Deployment (a list keyed by name).
          ...(d.image?.imagePullSecrets?.length ? { imagePullSecrets: uniqueByName(d.image.imagePullSecrets) } : {}),
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: c.name,
              image: imageRef(d.image).ref,
              command: c.command,
              args: c.args,
              ports: [{ name: 'https', containerPort: HTTPS_PORT, protocol: 'TCP' }, ...(c.extraPorts ?? [])],
              securityContext: restrictedSecurityContext,
              resources: c.resources,
              volumeMounts: [...volumeMounts, ...(d.extraVolumeMounts ?? [])],
              ...(c.startupProbe ? { startupProbe: c.startupProbe } : {}),
              ...(c.readinessProbe ? { readinessProbe: c.readinessProbe } : {}),
              ...(c.livenessProbe ? { livenessProbe: c.livenessProbe } : {}),
            },
          ],
          volumes: [...volumes, ...(d.extraVolumes ?? [])],
        } as Record<string, unknown>,
      },
    },
  };
  return applyDeploymentTemplate(deployment, d.template) as unknown as KubeObject;
}

export interface ServicePortInput {
  name: string;
  port: number;
  targetPort: number;
}

export function componentService(s: ComponentIdentity & { ports: readonly ServicePortInput[]; template: ServiceTemplate | undefined }): KubeObject {
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: s.name, namespace: s.namespace, labels: componentLabels(s.instance, s.component), ownerReferences: [controllerRef(s.owner)] },
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(s.instance, s.component),
      ports: s.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort, protocol: 'TCP', appProtocol: 'https' })) as Array<Record<string, unknown>>,
    } as Record<string, unknown>,
  };
  return applyServiceTemplate(service, s.template) as unknown as KubeObject;
}

function uniqueByName<T extends { name?: string }>(items: readonly T[]): T[] {
  return items.filter((s, i) => items.findIndex((x) => x.name === s.name) === i);
}
