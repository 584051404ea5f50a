// The kcp shard Deployment and Service, for the root shard and additional shards alike.
import type { V1ResourceRequirements } from '@kubernetes/client-node';
import { DEFAULT_OIDC_CA_KEY, DEFAULT_TOKEN_AUTH_FILE_KEY } from '../../api/auth.js';
import type { KubeObject } from '../../kube/object.js';
import { capabilities } from '../kcp-version.js';
import { componentLabels, selectorLabels } from '../common/labels.js';
import { controllerRef } from '../common/owner.js';
import {
  applyDeploymentTemplate,
  applyServiceTemplate,
  httpsProbe,
  imageRef,
  mergeResources,
  MOUNTS_HASH_ANNOTATION,
  restrictedSecurityContext,
  verbosity,
  volumesFor,
  type Mount,
} from '../common/workload.js';
import { baseURL, deploymentName, externalURL, secretNames, SECURE_PORT, VIRTUAL_WORKSPACES_PORT, type ShardModel } from './model.js';
import { crt, key, P } from './paths.js';

export const DEFAULT_SHARD_RESOURCES: V1ResourceRequirements = {
  requests: { cpu: '1', memory: '1Gi' },
  limits: { cpu: '2', memory: '2Gi' },
};

const CA_ONLY = ['tls.crt'] as const;

/** Every Secret or ConfigMap the Pod mounts, in a stable order. */
export function shardMounts(m: ShardModel): Mount[] {
  const n = secretNames(m);
  const spec = m.spec;
  const caps = capabilities(spec.image?.tag);
  const mounts: Mount[] = [
    // CA volumes project only the certificate: CA private keys never enter a kcp Pod.
    { volume: 'ca-root', secretName: n.rootCA, path: P.caRoot, items: CA_ONLY },
    { volume: 'ca-server', secretName: n.serverCA, path: P.caServer, items: CA_ONLY },
    { volume: 'ca-service-account', secretName: n.serviceAccountCA, path: P.caServiceAccount, items: CA_ONLY },
    { volume: 'ca-requestheader-client', secretName: n.requestHeaderCA, path: P.caRequestHeader, items: CA_ONLY },
    { volume: 'ca-client', secretName: n.mergedClientCA, path: P.caClient },
    { volume: 'ca-bundle', secretName: n.mergedCABundle, path: P.caBundle },
    { volume: 'server', secretName: n.server, path: P.server },
    { volume: 'service-account', secretName: n.serviceAccount, path: P.serviceAccount },
    { volume: 'client', secretName: m.kind === 'RootShard' ? `${m.root.name}-client` : n.client, path: P.client },
    { volume: 'logical-cluster-admin', secretName: n.logicalClusterAdmin, path: P.logicalClusterAdmin },
    { volume: 'external-logical-cluster-admin', secretName: n.externalLogicalClusterAdmin, path: P.externalLogicalClusterAdmin },
    { volume: 'logical-cluster-admin-kubeconfig', secretName: n.logicalClusterAdminKubeconfig, path: P.logicalClusterAdminKubeconfig },
    {
      volume: 'external-logical-cluster-admin-kubeconfig',
      secretName: n.externalLogicalClusterAdminKubeconfig,
      path: P.externalLogicalClusterAdminKubeconfig,
    },
  ];
  if (m.kind === 'Shard') {
    mounts.push({ volume: 'client-kubeconfig', secretName: n.clientKubeconfig, path: P.clientKubeconfig });
    if (caps.mountProxy) mounts.push({ volume: 'mounts-proxy', secretName: n.mountsProxy, path: P.mountsProxy });
  }
  if (m.cacheServer) {
    mounts.push(
      { volume: 'cache-kubeconfig', secretName: `${m.cacheServer}-kubeconfig`, path: P.cacheKubeconfig },
      { volume: 'cache-ca', secretName: `${m.cacheServer}-ca`, path: P.cacheCA, items: CA_ONLY },
      { volume: 'cache-client-certificate', secretName: `${m.cacheServer}-client-certificate`, path: P.cacheClient },
    );
  }
  if (spec.etcd.tlsConfig?.secretRef?.name) mounts.push({ volume: 'etcd-tls', secretName: spec.etcd.tlsConfig.secretRef.name, path: P.etcd });
  for (const peer of m.serviceAccountPeers) {
    mounts.push({ volume: `sa-${peer}`, secretName: `${peer}-service-account`, path: P.peerServiceAccount(peer), items: CA_ONLY });
  }
  const audit = spec.audit;
  if (audit?.policy?.configMap) mounts.push({ volume: 'audit-policy', configMapName: audit.policy.configMap.name, path: P.auditPolicy });
  if (audit?.webhook?.configSecretName) mounts.push({ volume: 'audit-webhook', secretName: audit.webhook.configSecretName, path: P.auditWebhook });
  const authz = spec.authorization?.webhook;
  if (authz?.configSecretName) mounts.push({ volume: 'authorization-webhook', secretName: authz.configSecretName, path: P.authorizationWebhook });
  const auth = spec.auth;
  if (auth?.webhook?.configSecretName) mounts.push({ volume: 'authentication-webhook', secretName: auth.webhook.configSecretName, path: P.authenticationWebhook });
  if (auth?.tokenAuthFile?.secretName) mounts.push({ volume: 'token-auth', secretName: auth.tokenAuthFile.secretName, path: P.tokenAuth });
  if (auth?.oidc?.caFileRef?.name) mounts.push({ volume: 'oidc-ca', secretName: auth.oidc.caFileRef.name, path: P.oidcCA });
  return mounts;
}

export function shardArgs(m: ShardModel): string[] {
  const spec = m.spec;
  const root = m.root.spec;
  const caps = capabilities(spec.image?.tag);
  const args = [
    `--root-ca-file=${crt(P.caRoot)}`,
    `--client-ca-file=${crt(P.caClient)}`,
    `--requestheader-client-ca-file=${crt(P.caRequestHeader)}`,
    `--requestheader-allowed-names=kcp-front-proxy,kcp-root-shard-proxy${caps.mountProxy ? ',kcp-mounts-proxy' : ''}`,
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--tls-cert-file=${crt(P.server)}`,
    `--tls-private-key-file=${key(P.server)}`,
    `--service-account-key-file=${crt(P.serviceAccount)}`,
    `--service-account-private-key-file=${key(P.serviceAccount)}`,
    `--service-account-signing-key-file=${key(P.serviceAccount)}`,
    '--service-account-lookup=false',
    `--shard-client-cert-file=${crt(P.client)}`,
    `--shard-client-key-file=${key(P.client)}`,
    `--shard-base-url=${baseURL(m)}`,
    `--shard-external-url=${externalURL(root)}`,
    `--logical-cluster-admin-kubeconfig=${P.logicalClusterAdminKubeconfig}/kubeconfig`,
    `--external-logical-cluster-admin-kubeconfig=${P.externalLogicalClusterAdminKubeconfig}/kubeconfig`,
    '--batteries-included=workspace-types',
    '--root-directory=',
    `--secure-port=${SECURE_PORT}`,
    '--enable-leader-election=true',
    '--logging-format=json',
    ...verbosity(spec.logging, spec.logLevel),
  ];
  if (m.kind === 'Shard') {
    args.push(`--shard-name=${m.name}`, `--root-shard-kubeconfig-file=${P.clientKubeconfig}/kubeconfig`);
    if (caps.externalHostnameFlag) args.push(`--external-hostname=${root.external.hostname}`);
    if (caps.mountProxy) args.push(`--mount-proxy-client-cert-file=${crt(P.mountsProxy)}`, `--mount-proxy-client-key-file=${key(P.mountsProxy)}`);
  }
  // Without a CacheServer the root shard serves the cache in-process and shards use the root shard.
  if (m.cacheServer) args.push(`--cache-kubeconfig=${P.cacheKubeconfig}/kubeconfig`);
  else if (m.kind === 'Shard') args.push(`--cache-kubeconfig=${P.clientKubeconfig}/kubeconfig`);
  for (const peer of m.serviceAccountPeers) args.push(`--service-account-key-file=${crt(P.peerServiceAccount(peer))}`);

  const etcd = spec.etcd;
  args.push(`--etcd-servers=${etcd.endpoints.join(',')}`);
  if (etcd.prefix) args.push(`--etcd-prefix=${etcd.prefix}`);
  if (etcd.tlsConfig?.secretRef?.name) {
    args.push(`--etcd-certfile=${P.etcd}/tls.crt`, `--etcd-keyfile=${P.etcd}/tls.key`, `--etcd-cafile=${P.etcd}/ca.crt`);
  }
  args.push(...auditArgs(m), ...authorizationArgs(m), ...authenticationArgs(m));
  return [...args, ...(spec.extraArgs ?? [])];
}

function auditArgs(m: ShardModel): string[] {
  const a = m.spec.audit;
  const out: string[] = [];
  if (a?.policy?.configMap) out.push(`--audit-policy-file=${P.auditPolicy}/${a.policy.configMap.key}`);
  const w = a?.webhook;
  if (w) {
    const flag = (name: string, v: string | number | boolean | undefined) => (v === undefined || v === '' ? [] : [`--audit-webhook-${name}=${v}`]);
    out.push(
      ...flag('batch-buffer-size', w.batchBufferSize),
      ...flag('batch-max-size', w.batchMaxSize),
      ...flag('batch-max-wait', w.batchMaxWait),
      ...flag('batch-throttle-burst', w.batchThrottleBurst),
      ...flag('batch-throttle-enable', w.batchThrottleEnable),
      ...flag('batch-throttle-qps', w.batchThrottleQPS),
      ...flag('initial-backoff', w.initialBackoff),
      ...flag('mode', w.mode),
      ...flag('truncate-enabled', w.truncateEnabled),
      ...flag('truncate-max-batch-size', w.truncateMaxBatchSize),
      ...flag('truncate-max-event-size', w.truncateMaxEventSize),
      ...flag('version', w.version),
    );
    if (w.configSecretName) out.push(`--audit-webhook-config-file=${P.auditWebhook}/kubeconfig`);
  }
  return out;
}

function authorizationArgs(m: ShardModel): string[] {
  const w = m.spec.authorization?.webhook;
  if (!w) return [];
  const out: string[] = [];
  if (w.allowPaths?.length) out.push(`--authorization-always-allow-paths=${w.allowPaths.join(',')}`);
  if (w.cacheAuthorizedTTL) out.push(`--authorization-webhook-cache-authorized-ttl=${w.cacheAuthorizedTTL}`);
  if (w.cacheUnauthorizedTTL) out.push(`--authorization-webhook-cache-unauthorized-ttl=${w.cacheUnauthorizedTTL}`);
  if (w.version) out.push(`--authorization-webhook-version=${w.version}`);
  if (w.configSecretName) out.push(`--authorization-webhook-config-file=${P.authorizationWebhook}/kubeconfig`);
  return out;
}

function authenticationArgs(m: ShardModel): string[] {
  const a = m.spec.auth;
  if (!a) return [];
  const out: string[] = [];
  const o = a.oidc;
  if (o) {
    out.push(`--oidc-issuer-url=${o.issuerURL}`, `--oidc-client-id=${o.clientID}`);
    if (o.groupsClaim) out.push(`--oidc-groups-claim=${o.groupsClaim}`);
    if (o.usernameClaim) out.push(`--oidc-username-claim=${o.usernameClaim}`);
    if (o.usernamePrefix) out.push(`--oidc-username-prefix=${o.usernamePrefix}`);
    if (o.groupsPrefix) out.push(`--oidc-groups-prefix=${o.groupsPrefix}`);
    if (o.caFileRef?.name) out.push(`--oidc-ca-file=${P.oidcCA}/${o.caFileRef.key || DEFAULT_OIDC_CA_KEY}`);
  }
  if (a.webhook) {
    if (a.webhook.cacheAuthenticationTTL) out.push(`--authentication-token-webhook-cache-ttl=${a.webhook.cacheAuthenticationTTL}`);
    if (a.webhook.version) out.push(`--authentication-token-webhook-version=${a.webhook.version}`);
    out.push(`--authentication-token-webhook-config-file=${P.authenticationWebhook}/kubeconfig`);
  }
  if (a.tokenAuthFile) out.push(`--token-auth-file=${P.tokenAuth}/${a.tokenAuthFile.key || DEFAULT_TOKEN_AUTH_FILE_KEY}`);
  return out;
}

/** `mountsHash` rolls the Pods when a mounted Secret's content changes (a renewal). */
export function shardDeployment(m: ShardModel, mountsHash: string): KubeObject {
  const spec = m.spec;
  const name = deploymentName(m.kind, m.name);
  const component = m.kind === 'RootShard' ? 'rootshard' : 'shard';
  const { volumes, volumeMounts } = volumesFor([
    ...shardMounts(m),
  ]);
  const selector = selectorLabels(m.name, component);
  const image = imageRef(spec.image);
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace: m.namespace,
      labels: componentLabels(m.name, component),
      ownerReferences: [controllerRef(m.owner)],
    },
    spec: {
      ...(spec.replicas !== undefined ? { replicas: spec.replicas } : {}),
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: componentLabels(m.name, component), annotations: { [MOUNTS_HASH_ANNOTATION]: mountsHash } },
        spec: {
          ...(spec.image?.imagePullSecrets?.length ? { imagePullSecrets: spec.image.imagePullSecrets } : {}),
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'kcp',
              image: image.ref,
              command: ['/kcp', 'start'],
              args: shardArgs(m),
              ports: [
                { name: 'https', containerPort: SECURE_PORT, protocol: 'TCP' },
                ...(spec.kcpVirtualWorkspace ? [] : [{ name: 'https-vw', containerPort: VIRTUAL_WORKSPACES_PORT, protocol: 'TCP' }]),
              ],
              securityContext: restrictedSecurityContext,
              resources: mergeResources(DEFAULT_SHARD_RESOURCES, spec.resources),
              volumeMounts: [...volumeMounts, ...(spec.extraVolumeMounts ?? [])],
              startupProbe: httpsProbe('/readyz', { failureThreshold: 60, initialDelaySeconds: 10, periodSeconds: 5, timeoutSeconds: 10 }),
              readinessProbe: httpsProbe('/readyz', { failureThreshold: 6, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 10 }),
              livenessProbe: httpsProbe('/livez', { failureThreshold: 6, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 10 }),
            },
          ],
          volumes: [...volumes, ...(spec.extraVolumes ?? [])],
        } as Record<string, unknown>,
      },
    },
  };
  return applyDeploymentTemplate(deployment, spec.deploymentTemplate) as unknown as KubeObject;
}

export function shardService(m: ShardModel): KubeObject {
  const name = deploymentName(m.kind, m.name);
  const component = m.kind === 'RootShard' ? 'rootshard' : 'shard';
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: m.namespace, labels: componentLabels(m.name, component), ownerReferences: [controllerRef(m.owner)] },
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(m.name, component),
      ports: [
        { name: 'https', port: SECURE_PORT, targetPort: SECURE_PORT, protocol: 'TCP', appProtocol: 'https' },
        ...(m.spec.kcpVirtualWorkspace
          ? []
          : [{ name: 'https-virtual-workspaces', port: VIRTUAL_WORKSPACES_PORT, targetPort: VIRTUAL_WORKSPACES_PORT, protocol: 'TCP', appProtocol: 'https' }]),
      ] as Array<Record<string, unknown>>,
    } as Record<string, unknown>,
  };
  return applyServiceTemplate(service, m.spec.serviceTemplate) as unknown as KubeObject;
}
