// The operator's reconcile pipeline for one spec, in-process and without a cluster: what every
// controller computes from a spec before it applies anything (certificate plans with their
// templates and durations, the release, the models) and every pure builder of src/resources/ the
// controller would call with it (certificates, encoded and signed; Secrets, ConfigMaps, Deployments, Services, PodDisruptionBudgets,
// kubeconfig text, RBAC bindings). What the controllers read from the cluster (the RootShard a
// Shard joins, CA certificates, referenced Secrets) is stood in for by kcp-operator's sample
// objects and one placeholder CA certificate.
// Only what a controller itself catches and turns into a condition may throw (Kubeconfig's
// certificate spec, caught as InvalidCertificateSpec); anything else thrown here is a crash.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { CacheServerSpec } from '../../src/api/cacheserver.js';
import type { FrontProxySpec } from '../../src/api/frontproxy.js';
import type { KubeconfigSpec } from '../../src/api/kubeconfig.js';
import type { RootShardSpec } from '../../src/api/rootshard.js';
import type { ShardSpec } from '../../src/api/shard.js';
import type { VirtualWorkspaceSpec } from '../../src/api/virtualworkspace.js';
import { unsupportedTemplates } from '../../src/controllers/component-status.js';
import { rootShardProxyCertificates } from '../../src/controllers/rootshard-proxy.js';
import { certificateTemplatesFor } from '../../src/controllers/templates.js';
import { unsupportedShardFields } from '../../src/controllers/unsupported.js';
import type { KubeObject } from '../../src/kube/object.js';
import { cacheServerCertificates, frontProxyCertificates, kubeconfigCertificate, rootShardCertificates, shardCertificates, virtualWorkspaceCertificates, type PlannedCertificate } from '../../src/pki/hierarchy.js';
import { issuePlanned, requestFor } from '../../src/pki/issue.js';
import { DEFAULT_KEY_SPEC, generateKeyPair } from '../../src/pki/keys.js';
import { selfSigned, signCertificateSync } from '../../src/pki/x509.js';
import { cacheServerDeployment, cacheServerKubeconfigSecret, cacheServerMounts, cacheServerService, publishedCASecret } from '../../src/resources/cacheserver/render.js';
import { cacheServerNames, type CacheServerModel } from '../../src/resources/cacheserver/model.js';
import { parseGoDuration } from '../../src/resources/common/duration.js';
import { podDisruptionBudget } from '../../src/resources/common/pdb.js';
import { mountsHash } from '../../src/resources/common/workload.js';
import { pathMappingConfigMap } from '../../src/resources/frontproxy/config.js';
import { frontProxyDeployment, frontProxyMounts, frontProxyService } from '../../src/resources/frontproxy/deployment.js';
import { frontProxyHostname, type FrontProxyModel } from '../../src/resources/frontproxy/model.js';
import { frontProxySecrets } from '../../src/resources/frontproxy/secrets.js';
import { desiredBindings } from '../../src/resources/kubeconfig/rbac.js';
import { authorizationWorkspace, kubeconfigSecret, kubeconfigServer, type KubeconfigModel, type KubeconfigTarget } from '../../src/resources/kubeconfig/render.js';
import { appliedRelease, familyOf, stampRelease, withRelease } from '../../src/resources/release.js';
import { rootShardProxyModel } from '../../src/resources/rootshard-proxy/model.js';
import { shardDeployment, shardMounts, shardService } from '../../src/resources/shard/deployment.js';
import type { ShardModel } from '../../src/resources/shard/model.js';
import { shardSecrets } from '../../src/resources/shard/secrets.js';
import { mergedClientCASecret, virtualWorkspaceDeployment, virtualWorkspaceMounts, virtualWorkspaceService } from '../../src/resources/virtualworkspace/render.js';
import type { VirtualWorkspaceModel } from '../../src/resources/virtualworkspace/model.js';
import { FIXTURES_DIR } from '../integration/fixtures.js';

export type Kind = 'RootShard' | 'Shard' | 'FrontProxy' | 'CacheServer' | 'Kubeconfig' | 'VirtualWorkspace';

const sample = (file: string): KubeObject => parse(readFileSync(path.join(FIXTURES_DIR, file), 'utf8')) as KubeObject;
const ROOT = sample('operator.kcp.io_v1alpha1_rootshard.yaml');
const ROOT_SPEC = ROOT.spec as RootShardSpec;
const SHARD_SPEC = sample('operator.kcp.io_v1alpha1_shard.yaml').spec as ShardSpec;
const FRONT_PROXY_SPEC = sample('operator.kcp.io_v1alpha1_frontproxy.yaml').spec as FrontProxySpec;
// One real self-signed CA stands in for every certificate a builder embeds (bundles are parsed).
const PEM = (await issuePlanned(cacheServerCertificates({ name: 'placeholder', namespace: 'fuzz' })[0] as PlannedCertificate)).certificatePem;
const NS = 'fuzz';
// Issuing is part of the pipeline (subjects, SANs and usages are encoded then); one key pair and
// self-signing keep it cheap, since only the spec-derived content can make it fail.
const KEY_PAIR = await generateKeyPair(DEFAULT_KEY_SPEC);

/** Encodes and signs each planned certificate as the controllers' issuing would. */
function issue(plans: readonly PlannedCertificate[]): void {
  for (const p of plans) if (p.issuer.type === 'selfSigned' || p.issuer.type === 'ca') signCertificateSync(requestFor(p, KEY_PAIR), selfSigned(KEY_PAIR.privateKey));
}
const KEY = DEFAULT_KEY_SPEC;

function owner(kind: Kind, name: string, spec: unknown): KubeObject {
  return { apiVersion: 'operator.kcp.io/v1alpha1', kind, metadata: { name, namespace: NS, uid: `uid-${name}`, generation: 1 }, spec };
}

/** Everything the builders see of the Secrets certificate plans lead to: placeholder data under each name. */
function certData(plans: readonly PlannedCertificate[]) {
  return (name: string) => (plans.some((p) => p.secretName === name) ? { 'tls.crt': PEM, 'tls.key': 'k', 'ca.crt': PEM } : undefined);
}

function shardObjects(m: ShardModel, plans: PlannedCertificate[]): KubeObject[] {
  const secrets = shardSecrets(m, { rootCA: PEM, serverCA: PEM, clientCA: PEM, extraCABundle: m.spec.caBundleSecretRef ? PEM : undefined, extraClientCAs: [PEM] });
  const hash = mountsHash(shardMounts(m).flatMap((x) => (x.secretName ? [x.secretName] : [])), certData(plans));
  const dep = stampRelease(shardDeployment(m, hash), m.release);
  return [...secrets, dep, shardService(m), ...[podDisruptionBudget(dep, m.spec.podDisruptionBudget)].filter((x): x is KubeObject => !!x)];
}

function frontProxyObjects(m: FrontProxyModel, plans: PlannedCertificate[]): KubeObject[] {
  const secrets = frontProxySecrets(m, { rootCA: PEM, serverCA: PEM, clientCA: PEM, extraCABundles: [PEM], extraClientCAs: [PEM] });
  const hash = mountsHash(frontProxyMounts(m).flatMap((x) => (x.secretName ? [x.secretName] : [])), certData(plans));
  const dep = stampRelease(frontProxyDeployment(m, hash), m.release);
  return [...secrets, pathMappingConfigMap(m), dep, frontProxyService(m), ...[podDisruptionBudget(dep, m.spec.podDisruptionBudget)].filter((x): x is KubeObject => !!x)];
}

function rootShard(name: string, spec: RootShardSpec): KubeObject[] {
  const plans = rootShardCertificates({
    name,
    namespace: NS,
    clusterDomain: spec.clusterDomain,
    externalHostname: spec.external.hostname,
    privateHostname: spec.external.privateHostname,
    shardBaseURL: spec.shardBaseURL,
    caSecretRef: spec.certificates?.caSecretRef?.name,
    issuerRef: spec.certificates?.issuerRef,
    key: KEY,
    templates: certificateTemplatesFor(spec.certificateTemplates),
  });
  plans.push(...rootShardProxyCertificates({ name, namespace: NS, spec }, KEY, certificateTemplatesFor(spec.proxy?.certificateTemplates)));
  issue(plans);
  unsupportedShardFields(spec);
  const release = spec.release ? appliedRelease(familyOf('RootShard'), spec.release) : undefined;
  const proxyRelease = spec.release ? appliedRelease(familyOf('RootShardProxy'), spec.release) : undefined;
  const o = owner('RootShard', name, spec);
  const m: ShardModel = { kind: 'RootShard', owner: o, name, namespace: NS, spec: withRelease(spec, release), release, root: { name, spec }, cacheServer: spec.cache?.ref?.name, serviceAccountPeers: spec.auth?.serviceAccount?.enabled ? ['shard'] : [] };
  const proxy = rootShardProxyModel({ owner: o, name, namespace: NS, spec, proxyRelease });
  return [...shardObjects(m, plans), ...frontProxyObjects(proxy, plans)];
}

function shard(name: string, spec: ShardSpec): KubeObject[] {
  const plans = shardCertificates({ name, namespace: NS, clusterDomain: spec.clusterDomain, shardBaseURL: spec.shardBaseURL, rootShard: { name: 'root' }, key: KEY, templates: certificateTemplatesFor(spec.certificateTemplates) });
  issue(plans);
  unsupportedShardFields(spec);
  const release = ROOT_SPEC.release ? appliedRelease(familyOf('Shard'), ROOT_SPEC.release) : undefined;
  const m: ShardModel = { kind: 'Shard', owner: owner('Shard', name, spec), name, namespace: NS, spec: withRelease(spec, release), root: { name: 'root', spec: ROOT_SPEC }, cacheServer: spec.cache?.ref?.name ?? ROOT_SPEC.cache?.ref?.name, serviceAccountPeers: spec.auth?.serviceAccount?.enabled ? ['root'] : [], federated: !!spec.rootShard?.joinRef };
  return shardObjects(m, plans);
}

function frontProxy(name: string, spec: FrontProxySpec): KubeObject[] {
  const plans = frontProxyCertificates({
    name,
    rootShard: { name: 'root', namespace: NS, externalHostname: ROOT_SPEC.external.hostname, privateHostname: ROOT_SPEC.external.privateHostname, clusterDomain: ROOT_SPEC.clusterDomain },
    externalHostname: frontProxyHostname(spec),
    key: KEY,
    templates: certificateTemplatesFor(spec.certificateTemplates),
  });
  issue(plans);
  unsupportedTemplates(spec.certificateTemplates);
  const m: FrontProxyModel = { owner: owner('FrontProxy', name, spec), name, namespace: NS, spec, root: { name: 'root', spec: ROOT_SPEC }, serviceAccountPeers: spec.auth?.serviceAccount?.enabled ? ['root', 'shard'] : [] };
  return frontProxyObjects(m, plans);
}

function cacheServer(name: string, spec: CacheServerSpec): KubeObject[] {
  const caSecretRef = spec.certificates?.caSecretRef?.name;
  const plans = cacheServerCertificates({ name, namespace: NS, clusterDomain: spec.clusterDomain, caSecretRef, issuerRef: spec.certificates?.issuerRef, key: KEY, templates: certificateTemplatesFor(spec.certificateTemplates) });
  issue(plans);
  unsupportedTemplates(spec.certificateTemplates);
  cacheServerNames(name, caSecretRef);
  const m: CacheServerModel = { owner: owner('CacheServer', name, spec), name, namespace: NS, spec };
  const hash = mountsHash(cacheServerMounts(m).flatMap((x) => (x.secretName ? [x.secretName] : [])), certData(plans));
  const dep = cacheServerDeployment(m, hash);
  return [cacheServerKubeconfigSecret(m), publishedCASecret(m, PEM), dep, cacheServerService(m), ...[podDisruptionBudget(dep, spec.podDisruptionBudget)].filter((x): x is KubeObject => !!x)];
}

/** The errors the Kubeconfig controller catches around its certificate plan (InvalidCertificateSpec). */
export class HandledByController extends Error {}

function kubeconfig(name: string, spec: KubeconfigSpec): KubeObject[] {
  if (spec.target.joinRef) return []; // federated: what it renders comes from the hub (federation tests)
  const t = spec.target;
  const base = { rootShardName: 'root', rootShard: ROOT_SPEC };
  const target: KubeconfigTarget = t.shardRef
    ? { ...base, kind: 'Shard', name: t.shardRef.name, shard: SHARD_SPEC }
    : t.frontProxyRef
      ? { ...base, kind: 'FrontProxy', name: t.frontProxyRef.name, frontProxy: FRONT_PROXY_SPEC }
      : { ...base, kind: 'RootShard', name: t.rootShardRef?.name ?? 'root' };
  let plan: PlannedCertificate;
  try {
    plan = kubeconfigCertificate({
      name,
      rootShard: 'root',
      username: spec.username,
      groups: spec.groups,
      validityMs: parseGoDuration(spec.validity),
      key: KEY,
      template: spec.certificateTemplate ? certificateTemplatesFor({ kubeconfig: spec.certificateTemplate }).kubeconfig : undefined,
    });
  } catch (err) {
    throw new HandledByController(String(err));
  }
  issue([plan]);
  const m: KubeconfigModel = { owner: owner('Kubeconfig', name, spec), name, namespace: NS, spec, target };
  kubeconfigServer(m);
  if (spec.authorization) authorizationWorkspace(spec);
  return [kubeconfigSecret(m, { caPem: PEM, certificatePem: PEM, privateKeyPem: 'k' }), ...desiredBindings({ name, uid: `uid-${name}`, spec })];
}

function virtualWorkspace(name: string, spec: VirtualWorkspaceSpec): KubeObject[] {
  const plans = virtualWorkspaceCertificates({ name, namespace: NS, clusterDomain: spec.clusterDomain, rootShard: { name: 'root' }, key: KEY, templates: certificateTemplatesFor(spec.certificateTemplates) });
  issue(plans);
  unsupportedTemplates(spec.certificateTemplates);
  const shardTarget = spec.target?.shardRef?.name;
  const m: VirtualWorkspaceModel = {
    owner: owner('VirtualWorkspace', name, spec),
    name,
    namespace: NS,
    spec,
    root: { name: 'root', spec: ROOT_SPEC },
    target: shardTarget ? { kind: 'Shard', name: shardTarget } : { kind: 'RootShard', name: 'root' },
    cacheServer: ROOT_SPEC.cache?.ref?.name,
  };
  const hash = mountsHash(virtualWorkspaceMounts(m).flatMap((x) => (x.secretName ? [x.secretName] : [])), certData(plans));
  const dep = virtualWorkspaceDeployment(m, hash);
  return [mergedClientCASecret(m, PEM, [PEM]), dep, virtualWorkspaceService(m), ...[podDisruptionBudget(dep, spec.podDisruptionBudget)].filter((x): x is KubeObject => !!x)];
}

/** Runs the in-process pipeline of `kind` on an admitted object; returns what would be applied. */
export function renderAdmitted(kind: Kind, obj: KubeObject): KubeObject[] {
  const name = obj.metadata.name ?? '';
  switch (kind) {
    case 'RootShard':
      return rootShard(name, obj.spec as RootShardSpec);
    case 'Shard':
      return shard(name, obj.spec as ShardSpec);
    case 'FrontProxy':
      return frontProxy(name, obj.spec as FrontProxySpec);
    case 'CacheServer':
      return cacheServer(name, (obj.spec ?? {}) as CacheServerSpec);
    case 'Kubeconfig':
      return kubeconfig(name, obj.spec as KubeconfigSpec);
    case 'VirtualWorkspace':
      return virtualWorkspace(name, obj.spec as VirtualWorkspaceSpec);
  }
}
