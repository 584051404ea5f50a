// The kcp shard Deployment and Service, for the root shard and additional shards alike.
import type { V1ResourceRequirements } from '@kubernetes/client-node';
import type { KubeObject } from '../../kube/object.js';
import { capabilities } from '../kcp-version.js';
import { authenticationArgs, authenticationMounts, serviceAccountKeyArgs, serviceAccountKeyMounts } from '../common/auth.js';
import { componentDeployment, componentService } from '../common/component.js';
import { httpsProbe, mergeResources, verbosity, type Mount } from '../common/workload.js';
import { baseURL, deploymentName, externalURL, secretNames, SECURE_PORT, type ShardModel } from './model.js';
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
  mounts.push(...serviceAccountKeyMounts(m.serviceAccountPeers, P));
  const audit = spec.audit;
  if (audit?.policy?.configMap) mounts.push({ volume: 'audit-policy', configMapName: audit.policy.configMap.name, path: P.auditPolicy });
  if (audit?.webhook?.configSecretName) mounts.push({ volume: 'audit-webhook', secretName: audit.webhook.configSecretName, path: P.auditWebhook });
  const authz = spec.authorization?.webhook;
  if (authz?.configSecretName) mounts.push({ volume: 'authorization-webhook', secretName: authz.configSecretName, path: P.authorizationWebhook });
  mounts.push(...authenticationMounts(spec.auth, P));
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
    // As kcp-operator: the proxies that may assert users to a shard. kcp-mounts-proxy asserts users to
    // the front-proxy only (which lists it), never to a shard.
    '--requestheader-allowed-names=kcp-front-proxy,kcp-root-shard-proxy',
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
  // An external VirtualWorkspace serves this shard's virtual workspaces. kcp reaches it itself (the
  // workspace initializers) with its shard client certificate, verifying it with the server CA,
  // which signs the VirtualWorkspace's certificate and every front-proxy's (kcp-operator's path).
  if (m.virtualWorkspaceURL) {
    args.push('--run-virtual-workspaces=false', `--shard-virtual-workspace-url=${m.virtualWorkspaceURL}`, `--shard-virtual-workspace-ca-file=${crt(P.caServer)}`);
  }
  args.push(...serviceAccountKeyArgs(m.serviceAccountPeers, P));

  const etcd = spec.etcd;
  args.push(`--etcd-servers=${etcd.endpoints.join(',')}`);
  if (etcd.prefix) args.push(`--etcd-prefix=${etcd.prefix}`);
  if (etcd.tlsConfig?.secretRef?.name) {
    args.push(`--etcd-certfile=${P.etcd}/tls.crt`, `--etcd-keyfile=${P.etcd}/tls.key`, `--etcd-cafile=${P.etcd}/ca.crt`);
  }
  args.push(...auditArgs(m), ...authorizationArgs(m), ...authenticationArgs(m.spec.auth, P));
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

/** `mountsHash` rolls the Pods when a mounted Secret's content changes (a renewal). */
export function shardDeployment(m: ShardModel, mountsHash: string): KubeObject {
  const spec = m.spec;
  return componentDeployment({
    ...identity(m),
    replicas: spec.replicas,
    image: spec.image,
    container: {
      name: 'kcp',
      command: ['/kcp', 'start'],
      args: shardArgs(m),
      resources: mergeResources(DEFAULT_SHARD_RESOURCES, spec.resources),
      startupProbe: httpsProbe('/readyz', { failureThreshold: 60, initialDelaySeconds: 10, periodSeconds: 5, timeoutSeconds: 10 }),
      readinessProbe: httpsProbe('/readyz', { failureThreshold: 6, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 10 }),
      livenessProbe: httpsProbe('/livez', { failureThreshold: 6, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 10 }),
    },
    mounts: shardMounts(m),
    extraVolumes: spec.extraVolumes,
    extraVolumeMounts: spec.extraVolumeMounts,
    mountsHash,
    template: spec.deploymentTemplate,
  });
}

export function shardService(m: ShardModel): KubeObject {
  return componentService({
    ...identity(m),
    ports: [
      { name: 'https', port: SECURE_PORT, targetPort: SECURE_PORT },
    ],
    template: m.spec.serviceTemplate,
  });
}

function identity(m: ShardModel) {
  return { name: deploymentName(m.kind, m.name), namespace: m.namespace, instance: m.name, component: m.kind === 'RootShard' ? ('rootshard' as const) : ('shard' as const), owner: m.owner };
}
