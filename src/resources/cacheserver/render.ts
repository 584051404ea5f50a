// The standalone cache server: Deployment, Service, the kubeconfig shards use to reach it, and
// (with a user-provided CA) the CA certificate published under the name shards mount.
import type { V1ResourceRequirements } from '@kubernetes/client-node';
import type { KubeObject } from '../../kube/object.js';
import { LABEL_CACHE_SERVER } from '../../pki/hierarchy.js';
import { capabilities } from '../kcp-version.js';
import { componentDeployment, componentService, HTTPS_PORT } from '../common/component.js';
import { singleKubeconfig } from '../common/kubeconfig.js';
import { componentLabels } from '../common/labels.js';
import { ownedSecret } from '../common/secret.js';
import { httpsProbe, verbosity, type Mount } from '../common/workload.js';
import { crt, key, P } from '../shard/paths.js';
import { cacheServerNames, cacheServerReplicas, cacheServerURL, type CacheServerModel } from './model.js';

export const DEFAULT_CACHE_SERVER_RESOURCES: V1ResourceRequirements = {
  requests: { cpu: '500m', memory: '1Gi' },
  limits: { cpu: '1', memory: '2Gi' },
};

/** Mount paths inside the cache server Pod; kept off /etc/kcp so they never clash with a shard's. */
export const CS = {
  server: '/etc/cache-server/tls/server',
  /** Same path as a shard's cache CA mount: one layout for everything that talks to the cache. */
  ca: P.cacheCA,
  etcd: '/etc/cache-server/etcd',
  embeddedEtcd: '/var/etcd',
} as const;

const meta = (m: CacheServerModel, name: string) => ({
  name,
  namespace: m.namespace,
  labels: { ...componentLabels(m.name, 'cache-server'), [LABEL_CACHE_SERVER]: m.name },
  owner: m.owner,
});

/**
 * `<cs>-kubeconfig`, which shards mount at /etc/cache-server/kubeconfig beside `<cs>-ca` and
 * `<cs>-client-certificate`: the file paths below are those mounts (src/resources/shard).
 */
export function cacheServerKubeconfigSecret(m: CacheServerModel): KubeObject {
  return ownedSecret(meta(m, cacheServerNames(m.name).kubeconfig), {
    kubeconfig: singleKubeconfig(
      { name: 'cache', server: cacheServerURL(m), caFile: crt(P.cacheCA) },
      { name: 'cache', certFile: crt(P.cacheClient), keyFile: key(P.cacheClient) },
      'cache',
    ),
  });
}

/**
 * With certificates.caSecretRef the CA lives under the user's name, but every shard mounts
 * `<cs>-ca`: publish the CA certificate (never its key) under that name.
 */
export function publishedCASecret(m: CacheServerModel, caCertificatePem: string): KubeObject {
  return ownedSecret(meta(m, cacheServerNames(m.name).ca), { 'tls.crt': caCertificatePem });
}

export function cacheServerMounts(m: CacheServerModel): Mount[] {
  const n = cacheServerNames(m.name);
  const mounts: Mount[] = [{ volume: 'serving-cert', secretName: n.server, path: CS.server }];
  if (capabilities(m.spec.image?.tag).cacheServerClientCA) mounts.push({ volume: 'client-ca', secretName: n.ca, path: CS.ca, items: ['tls.crt'] });
  const etcd = m.spec.etcd;
  if (!etcd) mounts.push({ volume: 'etcd-scratch', emptyDir: true, path: CS.embeddedEtcd });
  else if (etcd.tlsConfig?.secretRef?.name) mounts.push({ volume: 'etcd-cert', secretName: etcd.tlsConfig.secretRef.name, path: CS.etcd });
  return mounts;
}

export function cacheServerArgs(m: CacheServerModel): string[] {
  const spec = m.spec;
  const args = [`--tls-cert-file=${crt(CS.server)}`, `--tls-private-key-file=${key(CS.server)}`, '--root-directory=', `--secure-port=${HTTPS_PORT}`];
  // The standalone server refuses to start without a client CA on the versions that have the flag.
  if (capabilities(spec.image?.tag).cacheServerClientCA) args.push(`--client-ca-file=${crt(CS.ca)}`);
  const etcd = spec.etcd;
  if (!etcd) {
    args.push(`--embedded-etcd-directory=${CS.embeddedEtcd}`);
  } else {
    args.push(`--etcd-servers=${etcd.endpoints.join(',')}`);
    if (etcd.prefix) args.push(`--etcd-prefix=${etcd.prefix}`);
    if (etcd.tlsConfig?.secretRef?.name) args.push(`--etcd-cafile=${CS.etcd}/ca.crt`, `--etcd-certfile=${crt(CS.etcd)}`, `--etcd-keyfile=${key(CS.etcd)}`);
  }
  return [...args, ...verbosity(spec.logging, undefined), ...(spec.extraArgs ?? [])];
}

function identity(m: CacheServerModel) {
  return { name: cacheServerNames(m.name).deployment, namespace: m.namespace, instance: m.name, component: 'cache-server' as const, owner: m.owner };
}

export function cacheServerDeployment(m: CacheServerModel, mountsHash: string): KubeObject {
  const probe = { failureThreshold: 3, initialDelaySeconds: 15, periodSeconds: 10, timeoutSeconds: 10 };
  return componentDeployment({
    ...identity(m),
    replicas: cacheServerReplicas(m.spec),
    image: m.spec.image,
    container: {
      name: 'cache-server',
      command: ['/cache-server'],
      args: cacheServerArgs(m),
      resources: DEFAULT_CACHE_SERVER_RESOURCES,
      readinessProbe: httpsProbe('/readyz', probe),
      livenessProbe: httpsProbe('/livez', probe),
    },
    mounts: cacheServerMounts(m),
    extraVolumes: m.spec.extraVolumes,
    extraVolumeMounts: m.spec.extraVolumeMounts,
    mountsHash,
    template: m.spec.deploymentTemplate,
  });
}

export function cacheServerService(m: CacheServerModel): KubeObject {
  return componentService({ ...identity(m), ports: [{ name: 'https', port: HTTPS_PORT, targetPort: HTTPS_PORT }], template: m.spec.serviceTemplate });
}
