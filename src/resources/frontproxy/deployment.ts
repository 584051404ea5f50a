// The kcp-front-proxy Deployment and Service.
import type { KubeObject } from '../../kube/object.js';
import { MOUNTS_PROXY_COMMON_NAME } from '../../pki/hierarchy.js';
import { capabilities } from '../kcp-version.js';
import { authenticationArgs, authenticationMounts, serviceAccountKeyArgs, serviceAccountKeyMounts } from '../common/auth.js';
import { componentDeployment, componentService, HTTPS_PORT } from '../common/component.js';
import { httpsProbe, mergeResources, verbosity, type Mount } from '../common/workload.js';
import { crt, key, P } from '../shard/paths.js';
import { usesCABundle } from './config.js';
import { frontProxyIdentity, frontProxyNames, frontProxyServicePort, type FrontProxyModel } from './model.js';
import { FP, MAPPING_FILE } from './paths.js';

const CA_ONLY = ['tls.crt'] as const;

/** Every Secret or ConfigMap the Pod mounts, in a stable order. */
export function frontProxyMounts(m: FrontProxyModel): Mount[] {
  const n = frontProxyNames(m);
  const mounts: Mount[] = [
    { volume: 'dynamic-kubeconfig', secretName: n.dynamicKubeconfig, path: FP.dynamicKubeconfig },
    { volume: 'kubeconfig-client-cert', secretName: n.kubeconfigClient, path: FP.kubeconfigClient },
    { volume: 'tls', secretName: n.server, path: FP.server },
    { volume: 'requestheader-client', secretName: n.requestHeaderClient, path: FP.requestHeaderClient },
    // CA volumes project only the certificate: CA private keys never enter a kcp Pod.
    { volume: 'ca-root', secretName: n.rootCA, path: FP.rootCA, items: CA_ONLY },
  ];
  if (capabilities(m.spec.image?.tag).mountProxy) {
    mounts.push({ volume: 'ca-requestheader-client', secretName: n.requestHeaderCA, path: FP.requestHeaderCA, items: CA_ONLY });
  }
  if (usesCABundle(m)) mounts.push({ volume: 'ca-bundle', secretName: n.mergedCABundle, path: FP.caBundle });
  mounts.push(
    { volume: 'client-ca', secretName: n.mergedClientCA, path: FP.clientCA },
    { volume: 'config', configMapName: n.config, path: FP.config },
    ...serviceAccountKeyMounts(m.serviceAccountPeers, P),
    ...authenticationMounts(m.spec.auth, P),
  );
  return mounts;
}

export function frontProxyArgs(m: FrontProxyModel): string[] {
  const spec = m.spec;
  const args = [
    `--secure-port=${HTTPS_PORT}`,
    `--root-kubeconfig=${FP.dynamicKubeconfig}/kubeconfig`,
    `--shards-kubeconfig=${FP.dynamicKubeconfig}/kubeconfig`,
    `--tls-cert-file=${crt(FP.server)}`,
    `--tls-private-key-file=${key(FP.server)}`,
    `--mapping-file=${FP.config}/${MAPPING_FILE}`,
    `--client-ca-file=${crt(FP.clientCA)}`,
  ];
  // Shards' mounts proxies re-enter the front-proxy with a requestheader client certificate.
  if (capabilities(spec.image?.tag).mountProxy) {
    args.push(
      `--requestheader-client-ca-file=${crt(FP.requestHeaderCA)}`,
      `--requestheader-allowed-names=${frontProxyIdentity(m).commonName},${MOUNTS_PROXY_COMMON_NAME}`,
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    );
  }
  // A plain comma-separated list: kcp-operator formats these with %q, so the flag value carries
  // literal quotes and the first and last group never match.
  if (spec.auth?.dropGroups?.length) args.push(`--authentication-drop-groups=${spec.auth.dropGroups.join(',')}`);
  if (spec.auth?.passOnGroups?.length) args.push(`--authentication-pass-on-groups=${spec.auth.passOnGroups.join(',')}`);
  // The front-proxy has no etcd to look service-account tokens up in: it verifies them by the
  // shards' public keys alone (without this, a token from a workspace on another shard gets 401).
  const saLookup = m.serviceAccountPeers.length > 0 ? ['--service-account-lookup=false'] : [];
  args.push(...authenticationArgs(spec.auth, P), ...saLookup, ...serviceAccountKeyArgs(m.serviceAccountPeers, P), ...verbosity(spec.logging, undefined));
  return [...args, ...(spec.extraArgs ?? [])];
}

function identity(m: FrontProxyModel) {
  return { name: frontProxyNames(m).deployment, namespace: m.namespace, instance: m.name, component: frontProxyIdentity(m).component, owner: m.owner };
}

/** `mountsHash` rolls the Pods when a mounted Secret or the mapping file changes. */
export function frontProxyDeployment(m: FrontProxyModel, mountsHash: string): KubeObject {
  const spec = m.spec;
  const probe = { failureThreshold: 3, initialDelaySeconds: 15, periodSeconds: 10, timeoutSeconds: 10 };
  return componentDeployment({
    ...identity(m),
    replicas: spec.replicas,
    image: spec.image,
    container: {
      name: 'kcp-front-proxy',
      command: ['/kcp-front-proxy'],
      args: frontProxyArgs(m),
      resources: mergeResources(undefined, spec.resources),
      readinessProbe: httpsProbe('/readyz', probe),
      livenessProbe: httpsProbe('/livez', probe),
    },
    mounts: frontProxyMounts(m),
    extraVolumes: spec.extraVolumes,
    extraVolumeMounts: spec.extraVolumeMounts,
    mountsHash,
    template: spec.deploymentTemplate,
  });
}

export function frontProxyService(m: FrontProxyModel): KubeObject {
  return componentService({
    ...identity(m),
    ports: [{ name: 'https', port: frontProxyServicePort(m), targetPort: HTTPS_PORT }],
    template: m.spec.serviceTemplate,
  });
}
