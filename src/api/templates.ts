// Overrides for the Service and Deployment the operator renders for a component.
import type {
  V1Affinity,
  V1HostAlias,
  V1LocalObjectReference,
  V1Toleration,
  V1TopologySpreadConstraint,
} from '@kubernetes/client-node';

import { IP_ADDRESS_CHARS } from './formats.js';
import { coreSchema } from './k8s/core-schemas.js';
import { array, object, rule, string, stringMap, type JSONSchemaProps } from './schema.js';

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';

export interface ServiceTemplate {
  metadata?: ObjectMetadataTemplate;
  spec?: ServiceSpecTemplate;
}

export interface ServiceSpecTemplate {
  type?: ServiceType;
  clusterIP?: string;
}

/** Labels and annotations for a rendered object. */
export interface ObjectMetadataTemplate {
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface DeploymentTemplate {
  metadata?: ObjectMetadataTemplate;
  spec?: DeploymentSpecTemplate;
}

export interface DeploymentSpecTemplate {
  template?: PodTemplateSpec;
}

export interface PodTemplateSpec {
  metadata?: ObjectMetadataTemplate;
  spec?: PodSpecTemplate;
}

/** The Pod spec fields a user may set; each replaces what the operator would set. */
export interface PodSpecTemplate {
  nodeSelector?: Record<string, string>;
  affinity?: V1Affinity;
  tolerations?: V1Toleration[];
  hostAliases?: V1HostAlias[];
  imagePullSecrets?: V1LocalObjectReference[];
  topologySpreadConstraints?: V1TopologySpreadConstraint[];
}

function metadataTemplate(description: string, what: string): JSONSchemaProps {
  return object(description, {
    annotations: stringMap(`Annotations added to the ${what}. The operator's own annotations win on conflict.`),
    labels: stringMap(`Labels added to the ${what}. The operator's own labels (used by selectors) win on conflict.`),
  });
}

export function serviceTemplate(description: string): JSONSchemaProps {
  return object(description, {
    metadata: metadataTemplate('Labels and annotations for the Service.', 'Service'),
    spec: object('Service spec fields to override.', {
      type: string(
        'Service type. `LoadBalancer` exposes the component outside the cluster; defaults to `ClusterIP`.',
        { enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] },
      ),
      clusterIP: string(
        'A fixed cluster IP for the Service (it must lie in the cluster\'s service CIDR), or `None` for a headless ' +
          'Service. Unset lets Kubernetes choose.',
        {
          maxLength: 45,
          rules: [rule("self == 'None' || isIP(self)", 'must be an IP address or None', { reason: 'FieldValueInvalid' })],
        },
      ),
    }),
  });
}

export function deploymentTemplate(description: string): JSONSchemaProps {
  const pullSecret = coreSchema(
    'io.k8s.api.core.v1.LocalObjectReference',
    'A Secret of type kubernetes.io/dockerconfigjson in the same namespace.',
  );
  const name = pullSecret.properties?.['name'];
  if (name) name.default = '';
  const hostAlias = coreSchema('io.k8s.api.core.v1.HostAlias', 'An entry for the Pod\'s /etc/hosts.');
  const ip = hostAlias.properties?.['ip'];
  if (ip) ip.pattern = IP_ADDRESS_CHARS;
  return object(description, {
    metadata: metadataTemplate('Labels and annotations for the Deployment.', 'Deployment'),
    spec: object('Deployment spec fields to override.', {
      template: object('Overrides for the Pod template.', {
        metadata: metadataTemplate('Labels and annotations for the Pods.', 'Pods'),
        spec: object(
          'Pod spec fields to override. Each field set here replaces the operator\'s value as a whole ' +
            '(setting `imagePullSecrets` here replaces the ones from `image.imagePullSecrets`).',
          {
            nodeSelector: stringMap('Node labels the Pods must be scheduled onto.', { mapType: 'atomic' }),
            affinity: coreSchema('io.k8s.api.core.v1.Affinity', 'Scheduling affinity and anti-affinity rules for the Pods.'),
            tolerations: array(
              'Taints the Pods tolerate.',
              coreSchema('io.k8s.api.core.v1.Toleration', 'One toleration.'),
              { listType: 'atomic' },
            ),
            hostAliases: array('Extra /etc/hosts entries for the Pods, keyed by IP.', hostAlias, {
              listType: 'map',
              listMapKeys: ['ip'],
            }),
            imagePullSecrets: array('Registry credentials for pulling the images, keyed by name.', pullSecret, {
              listType: 'map',
              listMapKeys: ['name'],
            }),
            topologySpreadConstraints: array(
              'How the Pods spread across zones or nodes, keyed by topologyKey.',
              coreSchema('io.k8s.api.core.v1.TopologySpreadConstraint', 'One spread constraint.'),
              { listType: 'map', listMapKeys: ['topologyKey'] },
            ),
          },
        ),
      }),
    }),
  });
}
