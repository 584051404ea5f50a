// A standalone virtual-workspace server: Deployment (server container `kcp`, optional init
// containers), Service and the merged client CA, rendered as kcp-operator v0.9.0 does (names,
// volume names, mount paths, arguments), so extraArgs and extraVolumeMounts written for it work.
import type { V1ResourceRequirements, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { DEFAULT_VIRTUAL_WORKSPACE_COMMAND, DEFAULT_VIRTUAL_WORKSPACE_REPLICAS } from '../../api/virtualworkspace.js';
import type { LocalObjectReference } from '../../api/common.js';
import type { KubeObject } from '../../kube/object.js';
import { mergeCABundles } from '../../pki/bundle.js';
import { FRONT_PROXY_COMMON_NAME, LABEL_ROOTSHARD, LABEL_VIRTUAL_WORKSPACE, ROOT_SHARD_PROXY_COMMON_NAME } from '../../pki/hierarchy.js';
import { componentDeployment, componentService, HTTPS_PORT } from '../common/component.js';
import { componentLabels } from '../common/labels.js';
import { ownedSecret } from '../common/secret.js';
import { imageRef, mergeResources, restrictedSecurityContext, verbosity, volumesFor, type Mount } from '../common/workload.js';
import { crt, key, P } from '../shard/paths.js';
import { virtualWorkspaceNames, type VirtualWorkspaceModel } from './model.js';

/** kcp-operator's defaults for virtual-workspace servers (the same as a shard's). */
export const DEFAULT_VIRTUAL_WORKSPACE_RESOURCES: V1ResourceRequirements = {
  requests: { cpu: '1', memory: '1Gi' },
  limits: { cpu: '2', memory: '2Gi' },
};

/** Mount paths inside the Pod (kcp-operator's; the CA and certificate paths are a shard's). */
export const VW = {
  caRoot: P.caRoot,
  caServer: P.caServer,
  caRequestHeader: P.caRequestHeader,
  caClient: P.caClient,
  /** Ours: the target's merged CA bundle, which its logical-cluster-admin kubeconfig names. */
  caBundle: P.caBundle,
  server: P.server,
  /** The server's own client certificate, where the borrowed kubeconfig expects the admin's. */
  adminCertificate: P.logicalClusterAdmin,
  adminKubeconfig: P.logicalClusterAdminKubeconfig,
  serverKubeconfig: '/etc/kcp/server-kubeconfig',
  initKubeconfig: '/etc/kcp/init-kubeconfig',
  cacheKubeconfig: P.cacheKubeconfig,
  cacheCA: P.cacheCA,
  cacheClient: P.cacheClient,
} as const;

const CA_ONLY = ['tls.crt'] as const;

function usesMergedClientCA(m: VirtualWorkspaceModel): boolean {
  return !!(m.root.spec.clientCABundleRef?.name || m.spec.clientCABundleRef?.name);
}

/** The certificates, CAs and cache kubeconfig every container gets. */
function sharedMounts(m: VirtualWorkspaceModel): Mount[] {
  const n = virtualWorkspaceNames(m);
  const mounts: Mount[] = [
    // CA volumes project only the certificate: CA private keys never enter the Pod.
    { volume: 'kcp-ca', secretName: n.rootCA, path: VW.caRoot, items: CA_ONLY },
    { volume: 'server-ca', secretName: n.serverCA, path: VW.caServer, items: CA_ONLY },
    { volume: 'requestheader-client-ca', secretName: n.requestHeaderCA, path: VW.caRequestHeader, items: CA_ONLY },
    usesMergedClientCA(m)
      ? { volume: 'client-ca', secretName: n.mergedClientCA, path: VW.caClient }
      : { volume: 'client-ca', secretName: n.clientCA, path: VW.caClient, items: CA_ONLY },
    { volume: 'server-cert', secretName: n.server, path: VW.server },
  ];
  if (m.cacheServer) {
    mounts.push(
      { volume: 'cache-server-kubeconfig', secretName: `${m.cacheServer}-kubeconfig`, path: VW.cacheKubeconfig },
      { volume: 'cache-server-ca', secretName: `${m.cacheServer}-ca`, path: VW.cacheCA, items: CA_ONLY },
      { volume: 'cache-server-client-cert', secretName: `${m.cacheServer}-client-certificate`, path: VW.cacheClient },
    );
  }
  return mounts;
}

/**
 * The privileged fallback credential: the target's logical-cluster-admin kubeconfig with this
 * server's own client certificate (system:masters) where that kubeconfig looks for one. Only a
 * container that brought no kubeconfig of its own gets it.
 */
function adminMounts(m: VirtualWorkspaceModel): Mount[] {
  const n = virtualWorkspaceNames(m);
  return [
    { volume: 'logical-cluster-admin-kubeconfig', secretName: n.targetKubeconfig, path: VW.adminKubeconfig },
    { volume: 'client-cert', secretName: n.client, path: VW.adminCertificate },
    { volume: 'ca-bundle', secretName: n.targetCABundle, path: VW.caBundle },
  ];
}

function credentialMounts(m: VirtualWorkspaceModel, ref: LocalObjectReference | undefined, volume: string, path: string): Mount[] {
  return ref?.name ? [{ volume, secretName: ref.name, path }] : adminMounts(m);
}

function serverMounts(m: VirtualWorkspaceModel): Mount[] {
  return [...sharedMounts(m), ...credentialMounts(m, m.spec.kubeconfigSecretRef, 'server-kubeconfig', VW.serverKubeconfig)];
}

function initMounts(m: VirtualWorkspaceModel, name: string, ref: LocalObjectReference | undefined): Mount[] {
  return [...sharedMounts(m), ...credentialMounts(m, ref, `init-${name}-kubeconfig`, VW.initKubeconfig)];
}

/** Every Secret the Pod mounts, server and init containers alike (what a renewal must roll). */
export function virtualWorkspaceMounts(m: VirtualWorkspaceModel): Mount[] {
  return [...serverMounts(m), ...(m.spec.initContainers ?? []).flatMap((ic) => initMounts(m, ic.name, ic.kubeconfigSecretRef))];
}

export function virtualWorkspaceArgs(m: VirtualWorkspaceModel): string[] {
  const kubeconfigDir = m.spec.kubeconfigSecretRef?.name ? VW.serverKubeconfig : VW.adminKubeconfig;
  const args = [
    `--client-ca-file=${crt(VW.caClient)}`,
    `--tls-private-key-file=${key(VW.server)}`,
    `--tls-cert-file=${crt(VW.server)}`,
    '--bind-address=0.0.0.0',
    `--secure-port=${HTTPS_PORT}`,
    `--requestheader-client-ca-file=${crt(VW.caRequestHeader)}`,
    `--requestheader-allowed-names=${FRONT_PROXY_COMMON_NAME},${ROOT_SHARD_PROXY_COMMON_NAME}`,
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--kubeconfig=${kubeconfigDir}/kubeconfig`,
  ];
  // Flags only kcp's own server takes. A custom server (spec.command) gets the aggregated-apiserver
  // flags alone, as kcp-operator's API documents: an unknown flag would stop it before it serves.
  // (kcp-operator v0.9.0's code passes them regardless; its docs and the custom sample say otherwise.)
  if (!m.spec.command?.length) {
    // Required (and unused) before kcp 0.31, hidden and ignored since.
    args.push(`--shard-external-url=https://127.0.0.1:${HTTPS_PORT}`);
    if (m.cacheServer) args.push(`--cache-kubeconfig=${VW.cacheKubeconfig}/kubeconfig`);
  }
  return [...args, ...verbosity(m.spec.logging, undefined), ...(m.spec.extraArgs ?? [])];
}

function identity(m: VirtualWorkspaceModel) {
  return { name: virtualWorkspaceNames(m).deployment, namespace: m.namespace, instance: m.name, component: 'virtual-workspace' as const, owner: m.owner };
}

/** Pod volumes are named once: the first declaration wins (extraVolumes, ours, then init containers'). */
function dedupeVolumes(volumes: V1Volume[]): V1Volume[] {
  const seen = new Set<string>();
  return volumes.filter((v) => (seen.has(v.name) ? false : (seen.add(v.name), true)));
}

function initContainers(m: VirtualWorkspaceModel, serverImage: string) {
  return (m.spec.initContainers ?? []).map((ic) => ({
    name: ic.name,
    image: ic.image ? imageRef(ic.image).ref : serverImage,
    ...(ic.command?.length ? { command: ic.command } : {}),
    ...(ic.args?.length ? { args: ic.args } : {}),
    securityContext: restrictedSecurityContext,
    resources: mergeResources(DEFAULT_VIRTUAL_WORKSPACE_RESOURCES, ic.resources),
    volumeMounts: [...volumesFor(initMounts(m, ic.name, ic.kubeconfigSecretRef)).volumeMounts, ...((ic.volumeMounts ?? []) as V1VolumeMount[])],
  }));
}

/** `mountsHash` rolls the Pods when a mounted Secret's content changes (a renewal). */
export function virtualWorkspaceDeployment(m: VirtualWorkspaceModel, mountsHash: string): KubeObject {
  const spec = m.spec;
  const deployment = componentDeployment({
    ...identity(m),
    replicas: spec.replicas ?? DEFAULT_VIRTUAL_WORKSPACE_REPLICAS,
    image: spec.image,
    // kcp-operator runs the server without probes.
    container: {
      name: 'kcp',
      command: spec.command?.length ? spec.command : [DEFAULT_VIRTUAL_WORKSPACE_COMMAND],
      args: virtualWorkspaceArgs(m),
      resources: mergeResources(DEFAULT_VIRTUAL_WORKSPACE_RESOURCES, spec.resources),
    },
    mounts: serverMounts(m),
    extraVolumeMounts: spec.extraVolumeMounts,
    mountsHash,
    template: spec.deploymentTemplate,
  });
  const pod = (deployment.spec as { template: { spec: Record<string, unknown> } }).template.spec;
  const inits = initContainers(m, imageRef(spec.image).ref);
  const ours = volumesFor(virtualWorkspaceMounts(m)).volumes;
  pod.volumes = dedupeVolumes([...(spec.extraVolumes ?? []), ...ours, ...(spec.initContainers ?? []).flatMap((ic) => ic.volumes ?? [])]);
  if (inits.length) {
    pod.initContainers = inits;
    // An init container's own image may come from a registry that needs its own pull secrets.
    const pullSecrets = [
      ...((pod.imagePullSecrets as Array<{ name?: string }> | undefined) ?? []),
      ...(spec.initContainers ?? []).flatMap((ic) => ic.image?.imagePullSecrets ?? []),
    ];
    if (pullSecrets.length) pod.imagePullSecrets = pullSecrets.filter((s, i) => pullSecrets.findIndex((x) => x.name === s.name) === i);
  }
  return deployment;
}

export function virtualWorkspaceService(m: VirtualWorkspaceModel): KubeObject {
  return componentService({ ...identity(m), ports: [{ name: 'https', port: HTTPS_PORT, targetPort: HTTPS_PORT }], template: m.spec.serviceTemplate });
}

/** `<vw>-merged-client-ca`: the RootShard's client CA, its clientCABundleRef and the VirtualWorkspace's own. */
export function mergedClientCASecret(m: VirtualWorkspaceModel, clientCA: string, extraClientCAs: readonly string[]): KubeObject {
  return ownedSecret(
    {
      name: virtualWorkspaceNames(m).mergedClientCA,
      namespace: m.namespace,
      labels: { ...componentLabels(m.name, 'virtual-workspace'), [LABEL_ROOTSHARD]: m.root.name, [LABEL_VIRTUAL_WORKSPACE]: m.name },
      owner: m.owner,
    },
    { 'tls.crt': mergeCABundles([clientCA, ...extraClientCAs]) },
  );
}
