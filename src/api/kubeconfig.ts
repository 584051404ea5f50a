// Kubeconfig: a kubeconfig Secret with a client certificate for a RootShard, Shard or FrontProxy.
import type { V1ObjectMeta } from '@kubernetes/client-node';

import { certificateTemplate, type CertificateTemplate } from './certificates.js';
import { localRef } from './common.js';
import { joinRefSchema, type JoinReference } from './federation.js';
import type { LocalObjectReference } from './common.js';
import { celIsDuration, DURATION, HTTPS_ORIGIN, WORKSPACE_PATH } from './formats.js';
import type { API_GROUP_VERSION, KUBECONFIG } from './names.js';
import { array, extension, object, rule, string, type JSONSchemaProps } from './schema.js';
import { KUBECONFIG_PHASES, statusSchema, type CommonStatus, type KubeconfigPhase } from './status.js';

/** The workspace a generated kubeconfig points at when `targetWorkspace` is unset. */
export const DEFAULT_TARGET_WORKSPACE = 'root';

export interface Kubeconfig {
  apiVersion: typeof API_GROUP_VERSION;
  kind: typeof KUBECONFIG.kind;
  metadata: V1ObjectMeta;
  spec: KubeconfigSpec;
  status?: KubeconfigStatus;
}

export interface KubeconfigSpec {
  target: KubeconfigTarget;
  /** Defaults to `root`. */
  targetWorkspace?: string;
  username: string;
  groups?: string[];
  /** A Go duration string, e.g. `8766h`. */
  validity: string;
  secretRef: LocalObjectReference;
  /** Ours: the `server` written into the kubeconfig instead of the target's address. */
  serverURL?: string;
  certificateTemplate?: CertificateTemplate;
  authorization?: KubeconfigAuthorization;
}

/** Exactly one reference is set. */
export interface KubeconfigTarget {
  rootShardRef?: LocalObjectReference;
  shardRef?: LocalObjectReference;
  frontProxyRef?: LocalObjectReference;
  /** Ours: a RootShard elsewhere, through its published join ConfigMap (docs/federation.md). */
  joinRef?: JoinReference;
}

export interface KubeconfigAuthorization {
  clusterRoleBindings: KubeconfigClusterRoleBindings;
}

export interface KubeconfigClusterRoleBindings {
  /** @deprecated use `spec.targetWorkspace`. */
  cluster?: string;
  clusterRoles: string[];
}

export interface KubeconfigStatus extends CommonStatus<KubeconfigPhase> {
  /** `RootShard/<name>`, `Shard/<name>` or `FrontProxy/<name>`. */
  targetName?: string;
  authorization?: KubeconfigAuthorizationStatus;
  /** RFC 3339 expiry time of the certificate in the current Secret. */
  notAfter?: string;
  /** RFC 3339 time at which the certificate will be renewed. */
  renewalTime?: string;
}

export interface KubeconfigAuthorizationStatus {
  provisionedCluster: string;
}

const TARGETS = ['rootShardRef', 'shardRef', 'frontProxyRef', 'joinRef'] as const;

export function kubeconfigSpecSchema(): JSONSchemaProps {
  return object(
    'Desired state of a generated kubeconfig: who it authenticates as, what it connects to, and how long its ' +
      'certificate lives. The operator writes it to `secretRef` and renews the certificate before it expires.',
    {
      target: object(
        'What the kubeconfig connects to. Set exactly one of `rootShardRef`, `shardRef` and `frontProxyRef`.',
        {
          rootShardRef: localRef('Connect directly to this RootShard.', 'RootShard'),
          shardRef: localRef('Connect directly to this Shard.', 'Shard'),
          frontProxyRef: localRef('Connect through this FrontProxy (what users normally want).', 'FrontProxy'),
          joinRef: joinRefSchema(
            'For a team on another cluster (or in another namespace): the join ConfigMap a RootShard published, as the ' +
              'sync sidecar replicated it here. The client key is generated here and never leaves; the certificate is ' +
              'requested from the RootShard\'s cluster (which must accept it: spec.federation.acceptKubeconfigs), and the ' +
              'kubeconfig points at the installation\'s external address. `authorization` cannot be used with it.',
          ),
        },
        {
          rules: [
            rule(
              `[${TARGETS.map((t) => `has(self.${t})`).join(', ')}].filter(x, x).size() == 1`,
              'exactly one of spec.target.rootShardRef, spec.target.shardRef and spec.target.frontProxyRef (or, ours, spec.target.joinRef) must be set',
              { reason: 'FieldValueInvalid' },
            ),
          ],
        },
      ),
      targetWorkspace: string(
        `Workspace path the kubeconfig points at, for example \`root:org:team\`; also where \`authorization\` ` +
          `grants its roles. Defaults to \`${DEFAULT_TARGET_WORKSPACE}\`.`,
        { pattern: WORKSPACE_PATH, maxLength: 1024 },
      ),
      username: string('User name in the client certificate (its common name).', { minLength: 1, maxLength: 256 }),
      groups: array(
        'Groups in the client certificate (its organizations), for example `system:kcp:admin`.',
        string('One group name.', { minLength: 1, maxLength: 256 }),
      ),
      validity: string(
        'Lifetime of the client certificate as a Go duration, for example `8766h` (one year). The certificate (and the ' +
          'Secret) is renewed before it expires.',
        {
          pattern: DURATION,
          maxLength: 32,
          rules: [
            rule(`!${celIsDuration('self')} || duration(self) > duration('0s')`, 'validity must be longer than 0s'),
          ],
        },
      ),
      secretRef: localRef(
        'The Secret the kubeconfig is written to (key `kubeconfig`), in the same namespace. The operator creates and ' +
          'owns it.',
        'Secret',
      ),
      serverURL: string(
        extension(
          'The server URL written into the kubeconfig instead of the target\'s own address (`external.hostname` and ' +
            '`external.port` of a FrontProxy or its RootShard, a shard\'s base URL), for example ' +
            '`https://kcp.example.com` when an Ingress or a load balancer publishes the front-proxy on port 443. ' +
            'Scheme https, a host and an optional port; the `default` context appends `/clusters/<targetWorkspace>`. The CA ' +
            'in the kubeconfig stays the installation\'s, and the client certificate only works if whatever sits in ' +
            'front passes TLS through to kcp (Ingress-NGINX ssl-passthrough, an L4 load balancer) instead of ' +
            'terminating it. The operator itself keeps using in-cluster addresses.',
        ),
        {
          pattern: HTTPS_ORIGIN,
          maxLength: 2048,
          rules: [
            rule(
              "self.startsWith('https://')",
              'serverURL must be an https URL (https://host[:port]): the kubeconfig authenticates with a client certificate over TLS',
              { reason: 'FieldValueInvalid' },
            ),
          ],
        },
      ),
      certificateTemplate: certificateTemplate('Customisations of the client certificate.'),
      authorization: object(
        'Permissions to grant the user in the target workspace, so that the kubeconfig is useful right away.',
        {
          clusterRoleBindings: object(
            'ClusterRoleBindings created in the target workspace for the kubeconfig\'s user.',
            {
              cluster: string(
                'Deprecated: use `spec.targetWorkspace`. Logical cluster name or workspace path to create the bindings ' +
                  'in. Cannot be combined with `spec.targetWorkspace`.',
                { maxLength: 1024 },
              ),
              clusterRoles: array(
                'ClusterRoles to bind to the user, for example `cluster-admin`.',
                string('Name of one ClusterRole.', { minLength: 1, maxLength: 253 }),
              ),
            },
            { required: ['clusterRoles'] },
          ),
        },
        { required: ['clusterRoleBindings'] },
      ),
    },
    {
      required: ['target', 'username', 'validity', 'secretRef'],
      rules: [
        rule(
          '!(has(self.target.joinRef) && has(self.authorization))',
          'authorization cannot be used with target.joinRef: the operator here has no access to the remote installation\'s kcp; ' +
            'grant roles there',
          { fieldPath: '.authorization', reason: 'FieldValueForbidden' },
        ),
        rule(
          '!(has(self.targetWorkspace) && has(self.authorization) && has(self.authorization.clusterRoleBindings.cluster))',
          'targetWorkspace and authorization.clusterRoleBindings.cluster cannot both be set; ' +
            'authorization.clusterRoleBindings.cluster is deprecated, keep targetWorkspace only',
          { fieldPath: '.targetWorkspace', reason: 'FieldValueForbidden' },
        ),
      ],
    },
  );
}

export function kubeconfigStatusSchema(): JSONSchemaProps {
  return statusSchema(
    'Observed state of the Kubeconfig, written by the operator.',
    KUBECONFIG_PHASES,
    'Lifecycle phase: `Provisioning` until the Secret is written, `Ready` once it is, `Failed` when the target ' +
      'cannot be resolved or the certificate cannot be issued (see the conditions).',
    {
      targetName: string('The resolved target, as `RootShard/<name>`, `Shard/<name>` or `FrontProxy/<name>`.'),
      authorization: object(
        'What the operator provisioned for `spec.authorization`.',
        { provisionedCluster: string('Logical cluster the ClusterRoleBindings were created in.') },
        { required: ['provisionedCluster'] },
      ),
      notAfter: string(extension('Expiry time of the certificate in the current Secret.'), { format: 'date-time' }),
      renewalTime: string(extension('When the operator will renew the certificate.'), { format: 'date-time' }),
    },
  );
}
