// Admission validation of our CRDs on a real API server, table-driven: each invalid manifest must be
// rejected by `kubectl apply --server-side` (strict field validation) with a message that names the
// offending field, and its valid twin, differing only in that field, must be accepted.
import { randomBytes } from 'node:crypto';

import { beforeAll, describe, expect, inject, it } from 'vitest';

import { runKubectl, type KubectlResult } from './kubectl.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };
type Spec = { [key: string]: Json | undefined };
type Kind = 'RootShard' | 'Shard' | 'FrontProxy' | 'CacheServer' | 'Kubeconfig' | 'VirtualWorkspace';

interface Case {
  name: string;
  kind: Kind;
  /** The spec to reject; `undefined` values remove a key from the kind's base spec. */
  invalid: Spec;
  /** The same spec with the mistake fixed. */
  valid: Spec;
  /** What the error must name: the field path as the API server prints it. */
  field: string | RegExp;
  /** Further text the message must contain (our CEL messages, or the kind of violation). */
  message?: string | RegExp;
}

const BASE: Record<Kind, Spec> = {
  RootShard: {
    etcd: { endpoints: ['https://etcd.kcp.svc.cluster.local:2379'] },
    external: { hostname: 'kcp.example.com', port: 6443 },
    cache: {},
  },
  Shard: {
    etcd: { endpoints: ['https://etcd-shard.kcp.svc.cluster.local:2379'] },
    rootShard: { ref: { name: 'root' } },
  },
  FrontProxy: { rootShard: { ref: { name: 'root' } } },
  CacheServer: {},
  Kubeconfig: {
    target: { frontProxyRef: { name: 'front-proxy' } },
    username: 'kcp-admin',
    validity: '8766h',
    secretRef: { name: 'admin-kubeconfig' },
  },
  VirtualWorkspace: {
    target: { rootShardRef: { name: 'root' } },
    external: { hostname: 'kcp.example.com', port: 6443 },
  },
};

function isPlainObject(v: unknown): v is { [key: string]: Json | undefined } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge for building specs: objects merge, anything else replaces, undefined deletes. */
function merge(base: Spec, patch: Spec): Spec {
  const out: Spec = structuredClone(base);
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete out[key];
    else if (isPlainObject(value) && isPlainObject(out[key])) out[key] = merge(out[key] as Spec, value);
    else out[key] = structuredClone(value);
  }
  return out;
}

const withTemplate = (spec: Json): Spec => ({ certificateTemplates: { server: { spec } } });
const podSpec = (spec: Json): Spec => ({ deploymentTemplate: { spec: { template: { spec } } } });
const oidc = { issuerURL: 'https://idp.example.com/realms/kcp', clientID: 'kcp' };
const mapping = {
  path: '/services/custom',
  backend: 'https://custom-vw.kcp.svc:6443',
  backend_server_ca: '/etc/kcp-front-proxy/tls/ca/tls.crt',
  proxy_client_cert: '/etc/kcp-front-proxy/requestheader-client/tls.crt',
  proxy_client_key: '/etc/kcp-front-proxy/requestheader-client/tls.key',
};

const CASES: Case[] = [
  // RootShard: types, ranges, required fields
  { kind: 'RootShard', name: 'replicas is a string', invalid: { replicas: 'two' }, valid: { replicas: 3 }, field: 'spec.replicas', message: /numeric|integer/ },
  { kind: 'RootShard', name: 'replicas is negative', invalid: { replicas: -1 }, valid: { replicas: 0 }, field: 'spec.replicas', message: 'greater than or equal to 0' },
  { kind: 'RootShard', name: 'replicas is fractional', invalid: { replicas: 1.5 }, valid: { replicas: 1 }, field: 'spec.replicas', message: 'must be of type integer' },
  { kind: 'RootShard', name: 'external.port above 65535', invalid: { external: { port: 70000 } }, valid: { external: { port: 443 } }, field: 'spec.external.port', message: 'less than or equal to 65535' },
  { kind: 'RootShard', name: 'external.port is 0', invalid: { external: { port: 0 } }, valid: { external: { port: 1 } }, field: 'spec.external.port', message: 'greater than or equal to 1' },
  { kind: 'RootShard', name: 'external.hostname is a URL', invalid: { external: { hostname: 'https://kcp.example.com' } }, valid: { external: { hostname: 'kcp.example.com' } }, field: 'spec.external.hostname', message: 'should match' },
  { kind: 'RootShard', name: 'external is missing', invalid: { external: undefined }, valid: {}, field: 'spec.external', message: 'Required value' },
  { kind: 'RootShard', name: 'etcd is missing', invalid: { etcd: undefined }, valid: {}, field: 'spec.etcd', message: 'Required value' },
  { kind: 'RootShard', name: 'etcd.endpoints is empty', invalid: { etcd: { endpoints: [] } }, valid: {}, field: 'spec.etcd.endpoints', message: 'at least 1 items' },
  { kind: 'RootShard', name: 'etcd endpoint has no scheme', invalid: { etcd: { endpoints: ['etcd:2379'] } }, valid: { etcd: { endpoints: ['http://etcd:2379'] } }, field: 'spec.etcd.endpoints[0]', message: 'should match' },
  { kind: 'RootShard', name: 'etcd.tlsConfig lacks secretRef', invalid: { etcd: { tlsConfig: {} } }, valid: { etcd: { tlsConfig: { secretRef: { name: 'etcd-client' } } } }, field: 'spec.etcd.tlsConfig.secretRef', message: 'Required value' },
  { kind: 'RootShard', name: 'caSecretRef together with issuerRef', invalid: { certificates: { issuerRef: { name: 'ca', kind: 'ClusterIssuer' }, caSecretRef: { name: 'my-ca' } } }, valid: { certificates: { caSecretRef: { name: 'my-ca' } } }, field: 'spec.certificates.caSecretRef', message: 'caSecretRef and issuerRef are mutually exclusive' },
  { kind: 'RootShard', name: 'shardBaseURL is http', invalid: { shardBaseURL: 'http://root.kcp.example.com:6443' }, valid: { shardBaseURL: 'https://root.kcp.example.com:6443' }, field: 'spec.shardBaseURL', message: 'should match' },
  { kind: 'RootShard', name: 'logging.level above 10', invalid: { logging: { level: 11 } }, valid: { logging: { level: 10 } }, field: 'spec.logging.level', message: 'less than or equal to 10' },
  { kind: 'RootShard', name: 'deprecated logLevel disagrees with logging.level', invalid: { logging: { level: 2 }, logLevel: { verbosityLevel: 4 } }, valid: { logging: { level: 4 }, logLevel: { verbosityLevel: 4 } }, field: 'spec.logLevel.verbosityLevel', message: 'deprecated alias of logging.level' },
  { kind: 'RootShard', name: 'unknown field in spec (strict)', invalid: { replica: 2 }, valid: { replicas: 2 }, field: 'spec.replica', message: 'field not declared in schema' },
  { kind: 'RootShard', name: 'unknown nested field (strict)', invalid: { external: { privateHost: 'kcp.internal' } }, valid: { external: { privateHostname: 'kcp.internal' } }, field: 'spec.external.privateHost', message: 'field not declared in schema' },
  { kind: 'RootShard', name: 'cache.embedded lacks enabled', invalid: { cache: { embedded: {} } }, valid: { cache: { embedded: { enabled: true } } }, field: 'spec.cache.embedded.enabled', message: 'Required value' },
  { kind: 'RootShard', name: 'clusterDomain has a space', invalid: { clusterDomain: 'cluster local' }, valid: { clusterDomain: 'cluster.internal' }, field: 'spec.clusterDomain', message: 'should match' },
  { kind: 'RootShard', name: 'extraArgs is a string', invalid: { extraArgs: '--v=4' }, valid: { extraArgs: ['--v=4'] }, field: 'spec.extraArgs', message: /list|array/ },
  { kind: 'RootShard', name: 'extraVolumes entry lacks name', invalid: { extraVolumes: [{ emptyDir: {} }] }, valid: { extraVolumes: [{ name: 'scratch', emptyDir: {} }] }, field: 'spec.extraVolumes', message: 'name' },
  { kind: 'RootShard', name: 'resources limit is not a quantity', invalid: { resources: { limits: { cpu: 'lots' } } }, valid: { resources: { limits: { cpu: '500m' } } }, field: 'spec.resources.limits.cpu', message: 'should match' },
  // RootShard: certificate templates
  { kind: 'RootShard', name: 'certificateTemplates has an unknown key', invalid: { certificateTemplates: { servr: {} } }, valid: { certificateTemplates: { server: {} } }, field: 'spec.certificateTemplates', message: 'keys must name a known certificate or CA' },
  { kind: 'RootShard', name: 'certificate duration in years', invalid: withTemplate({ duration: '1y' }), valid: withTemplate({ duration: '8760h' }), field: 'spec.certificateTemplates.server.spec.duration', message: 'should match' },
  { kind: 'RootShard', name: 'certificate duration is zero', invalid: withTemplate({ duration: '0h' }), valid: withTemplate({ duration: '1h' }), field: /spec\.certificateTemplates(\.|\[)server\]?\.spec\.duration/, message: 'duration must be longer than 0s' },
  { kind: 'RootShard', name: 'renewBefore not shorter than duration', invalid: withTemplate({ duration: '1h', renewBefore: '2h' }), valid: withTemplate({ duration: '2h', renewBefore: '1h' }), field: /spec\.certificateTemplates(\.|\[)server\]?\.spec\.renewBefore/, message: 'renewBefore must be shorter than duration' },
  { kind: 'RootShard', name: 'private key algorithm unknown', invalid: withTemplate({ privateKey: { algorithm: 'DSA' } }), valid: withTemplate({ privateKey: { algorithm: 'ECDSA' } }), field: 'spec.certificateTemplates.server.spec.privateKey.algorithm', message: 'Unsupported value' },
  { kind: 'RootShard', name: 'private key size wrong for ECDSA', invalid: withTemplate({ privateKey: { algorithm: 'ECDSA', size: 2048 } }), valid: withTemplate({ privateKey: { algorithm: 'ECDSA', size: 384 } }), field: /spec\.certificateTemplates(\.|\[)server\]?\.spec\.privateKey\.size/, message: 'size does not fit the algorithm' },
  { kind: 'RootShard', name: 'ipAddresses entry is not an IP', invalid: withTemplate({ ipAddresses: ['999.1.1.1'] }), valid: withTemplate({ ipAddresses: ['10.0.0.1', 'fd00::1'] }), field: /spec\.certificateTemplates(\.|\[)server\]?\.spec\.ipAddresses\[0\]/, message: 'must be an IPv4 or IPv6 address' },
  { kind: 'RootShard', name: 'dnsNames entry is a URL', invalid: withTemplate({ dnsNames: ['https://root.kcp.example.com'] }), valid: withTemplate({ dnsNames: ['root.kcp.example.com', '*.kcp.example.com'] }), field: 'spec.certificateTemplates.server.spec.dnsNames[0]', message: 'should match' },
  // RootShard: Service and Deployment templates
  { kind: 'RootShard', name: 'Service type ExternalName', invalid: { serviceTemplate: { spec: { type: 'ExternalName' } } }, valid: { serviceTemplate: { spec: { type: 'LoadBalancer' } } }, field: 'spec.serviceTemplate.spec.type', message: 'Unsupported value' },
  { kind: 'RootShard', name: 'Service clusterIP malformed', invalid: { serviceTemplate: { spec: { clusterIP: '10.96.100' } } }, valid: { serviceTemplate: { spec: { clusterIP: '10.96.100.100' } } }, field: 'spec.serviceTemplate.spec.clusterIP', message: 'must be an IP address or None' },
  { kind: 'RootShard', name: 'hostAliases ip malformed', invalid: podSpec({ hostAliases: [{ ip: 'not-an-ip', hostnames: ['kcp.example.com'] }] }), valid: podSpec({ hostAliases: [{ ip: '10.96.100.100', hostnames: ['kcp.example.com'] }] }), field: 'spec.deploymentTemplate.spec.template.spec.hostAliases[0].ip', message: 'should match' },
  { kind: 'RootShard', name: 'toleration seconds is a string', invalid: podSpec({ tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 'soon' }] }), valid: podSpec({ tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }] }), field: 'spec.deploymentTemplate.spec.template.spec.tolerations[0].tolerationSeconds', message: /numeric|integer/ },
  { kind: 'RootShard', name: 'image tag has a space', invalid: { image: { tag: 'v0 32' } }, valid: { image: { tag: 'v0.32.3' } }, field: 'spec.image.tag', message: 'should match' },
  { kind: 'RootShard', name: 'image repository carries a tag', invalid: { image: { repository: 'ghcr.io/kcp-dev/kcp:v0.32.3' } }, valid: { image: { repository: 'ghcr.io/kcp-dev/kcp' } }, field: 'spec.image.repository', message: 'should match' },
  // RootShard: authentication, authorization, audit
  { kind: 'RootShard', name: 'auth webhook version unknown', invalid: { auth: { webhook: { configSecretName: 'authn', version: 'v2' } } }, valid: { auth: { webhook: { configSecretName: 'authn', version: 'v1' } } }, field: 'spec.auth.webhook.version', message: 'Unsupported value' },
  { kind: 'RootShard', name: 'OIDC issuerURL is http', invalid: { auth: { oidc: { ...oidc, issuerURL: 'http://idp.example.com' } } }, valid: { auth: { oidc } }, field: 'spec.auth.oidc.issuerURL', message: 'should match' },
  { kind: 'RootShard', name: 'OIDC lacks clientID', invalid: { auth: { oidc: { issuerURL: oidc.issuerURL } } }, valid: { auth: { oidc } }, field: 'spec.auth.oidc.clientID', message: 'Required value' },
  { kind: 'RootShard', name: 'audit webhook mode unknown', invalid: { audit: { webhook: { mode: 'async' } } }, valid: { audit: { webhook: { mode: 'batch' } } }, field: 'spec.audit.webhook.mode', message: 'Unsupported value' },
  { kind: 'RootShard', name: 'audit batchMaxWait in words', invalid: { audit: { webhook: { batchMaxWait: '10 seconds' } } }, valid: { audit: { webhook: { batchMaxWait: '10s' } } }, field: 'spec.audit.webhook.batchMaxWait', message: 'should match' },
  { kind: 'RootShard', name: 'audit batchThrottleQPS not a number', invalid: { audit: { webhook: { batchThrottleQPS: 'fast' } } }, valid: { audit: { webhook: { batchThrottleQPS: '3.1' } } }, field: 'spec.audit.webhook.batchThrottleQPS', message: 'should match' },
  { kind: 'RootShard', name: 'audit policy ConfigMap lacks key', invalid: { audit: { policy: { configMap: { name: 'audit-policy' } } } }, valid: { audit: { policy: { configMap: { name: 'audit-policy', key: 'policy.yaml' } } } }, field: 'spec.audit.policy.configMap.key', message: 'Required value' },
  { kind: 'RootShard', name: 'authorization cacheAuthorizedTTL in words', invalid: { authorization: { webhook: { cacheAuthorizedTTL: '5 min' } } }, valid: { authorization: { webhook: { cacheAuthorizedTTL: '5m' } } }, field: 'spec.authorization.webhook.cacheAuthorizedTTL', message: 'should match' },
  // Shard
  { kind: 'Shard', name: 'rootShard is missing', invalid: { rootShard: undefined }, valid: {}, field: 'spec.rootShard', message: 'Required value' },
  { kind: 'Shard', name: 'rootShard has no ref', invalid: { rootShard: { ref: undefined } }, valid: {}, field: 'spec.rootShard.ref', message: 'rootShard.ref is required' },
  { kind: 'Shard', name: 'rootShard.ref.name not a DNS name', invalid: { rootShard: { ref: { name: 'Root_Shard' } } }, valid: { rootShard: { ref: { name: 'root-shard' } } }, field: 'spec.rootShard.ref.name', message: 'should match' },
  { kind: 'Shard', name: 'kcpVirtualWorkspace name empty', invalid: { kcpVirtualWorkspace: { name: '' } }, valid: { kcpVirtualWorkspace: { name: 'vw' } }, field: 'spec.kcpVirtualWorkspace.name', message: /at least 1 chars|should match/ },
  { kind: 'Shard', name: 'cache.ref lacks name', invalid: { cache: { ref: {} } }, valid: { cache: { ref: { name: 'cache' } } }, field: 'spec.cache.ref.name', message: 'Required value' },
  // FrontProxy
  { kind: 'FrontProxy', name: 'externalHostname together with external.hostname', invalid: { externalHostname: 'old.example.com', external: { hostname: 'kcp.example.com', port: 443 } }, valid: { external: { hostname: 'kcp.example.com', port: 443 } }, field: 'spec.externalHostname', message: 'cannot be combined with external.hostname' },
  { kind: 'FrontProxy', name: 'OIDC without ServiceAccount authentication', invalid: { auth: { oidc } }, valid: { auth: { oidc, serviceAccount: { enabled: true } } }, field: 'spec.auth.oidc', message: 'oidc requires serviceAccount.enabled' },
  { kind: 'FrontProxy', name: 'path mapping lacks backend', invalid: { additionalPathMappings: [{ ...mapping, backend: undefined }] }, valid: { additionalPathMappings: [mapping] }, field: 'spec.additionalPathMappings[0].backend', message: 'Required value' },
  { kind: 'FrontProxy', name: 'path mapping path not absolute', invalid: { additionalPathMappings: [{ ...mapping, path: 'services/custom' }] }, valid: { additionalPathMappings: [mapping] }, field: 'spec.additionalPathMappings[0].path', message: 'should match' },
  { kind: 'FrontProxy', name: 'external lacks port', invalid: { external: { hostname: 'kcp.example.com' } }, valid: { external: { hostname: 'kcp.example.com', port: 443 } }, field: 'spec.external.port', message: 'Required value' },
  { kind: 'FrontProxy', name: 'replicas is a boolean', invalid: { replicas: true }, valid: { replicas: 2 }, field: 'spec.replicas', message: /numeric|integer/ },
  // CacheServer
  { kind: 'CacheServer', name: 'replicas above 1 without etcd', invalid: { replicas: 2 }, valid: { replicas: 2, etcd: { endpoints: ['https://cache-etcd:2379'] } }, field: 'spec.replicas', message: 'replicas greater than 1 requires spec.etcd' },
  { kind: 'CacheServer', name: 'issuerRef kind not CamelCase', invalid: { certificates: { issuerRef: { name: 'selfsigned', kind: 'clusterissuer' } } }, valid: { certificates: { issuerRef: { name: 'selfsigned', kind: 'ClusterIssuer', group: 'cert-manager.io' } } }, field: 'spec.certificates.issuerRef.kind', message: 'should match' },
  { kind: 'CacheServer', name: 'issuerRef lacks name', invalid: { certificates: { issuerRef: { kind: 'Issuer' } } }, valid: { certificates: { issuerRef: { kind: 'Issuer', name: 'selfsigned' } } }, field: 'spec.certificates.issuerRef.name', message: 'Required value' },
  { kind: 'CacheServer', name: 'unknown field (strict)', invalid: { etcdEndpoints: ['https://cache-etcd:2379'] }, valid: { etcd: { endpoints: ['https://cache-etcd:2379'] } }, field: 'spec.etcdEndpoints', message: 'field not declared in schema' },
  // Kubeconfig
  { kind: 'Kubeconfig', name: 'no target', invalid: { target: { frontProxyRef: undefined } }, valid: {}, field: 'spec.target', message: 'exactly one of spec.target.rootShardRef, spec.target.shardRef and spec.target.frontProxyRef (or, ours, spec.target.joinRef) must be set' },
  { kind: 'Kubeconfig', name: 'joinRef with authorization', invalid: { target: { frontProxyRef: undefined, joinRef: { name: 'root-federation' } }, authorization: { clusterRoleBindings: { clusterRoles: ['view'] } } }, valid: { target: { frontProxyRef: undefined, joinRef: { name: 'root-federation' } } }, field: 'spec.authorization', message: 'authorization cannot be used with target.joinRef' },
  { kind: 'Kubeconfig', name: 'two targets', invalid: { target: { shardRef: { name: 'shard-1' } } }, valid: { target: { frontProxyRef: undefined, shardRef: { name: 'shard-1' } } }, field: 'spec.target', message: 'exactly one of' },
  { kind: 'Kubeconfig', name: 'validity in words', invalid: { validity: '1 year' }, valid: { validity: '8760h0m0s' }, field: 'spec.validity', message: 'should match' },
  { kind: 'Kubeconfig', name: 'validity is zero', invalid: { validity: '0s' }, valid: { validity: '1h' }, field: 'spec.validity', message: 'validity must be longer than 0s' },
  { kind: 'Kubeconfig', name: 'username is missing', invalid: { username: undefined }, valid: {}, field: 'spec.username', message: 'Required value' },
  { kind: 'Kubeconfig', name: 'username is empty', invalid: { username: '' }, valid: { username: 'admin' }, field: 'spec.username', message: 'at least 1 chars long' },
  { kind: 'Kubeconfig', name: 'targetWorkspace with capitals', invalid: { targetWorkspace: 'Root:Org' }, valid: { targetWorkspace: 'root:org' }, field: 'spec.targetWorkspace', message: 'should match' },
  { kind: 'Kubeconfig', name: 'targetWorkspace with the deprecated clusterRoleBindings.cluster', invalid: { targetWorkspace: 'root:org', authorization: { clusterRoleBindings: { cluster: 'root:org', clusterRoles: ['cluster-admin'] } } }, valid: { authorization: { clusterRoleBindings: { cluster: 'root:org', clusterRoles: ['cluster-admin'] } } }, field: 'spec.targetWorkspace', message: 'targetWorkspace and authorization.clusterRoleBindings.cluster cannot both be set' },
  { kind: 'Kubeconfig', name: 'authorization lacks clusterRoles', invalid: { authorization: { clusterRoleBindings: {} } }, valid: { authorization: { clusterRoleBindings: { clusterRoles: ['cluster-admin'] } } }, field: 'spec.authorization.clusterRoleBindings.clusterRoles', message: 'Required value' },
  { kind: 'Kubeconfig', name: 'groups is a string', invalid: { groups: 'system:kcp:admin' }, valid: { groups: ['system:kcp:admin'] }, field: 'spec.groups', message: /list|array/ },
  { kind: 'Kubeconfig', name: 'secretRef name empty', invalid: { secretRef: { name: '' } }, valid: { secretRef: { name: 'kubeconfig' } }, field: 'spec.secretRef.name', message: /at least 1 chars|should match/ },
  { kind: 'Kubeconfig', name: 'target of an unknown kind (strict)', invalid: { target: { frontProxyRef: undefined, virtualWorkspaceRef: { name: 'vw' } } }, valid: { target: { frontProxyRef: undefined, rootShardRef: { name: 'vw' } } }, field: 'spec.target.virtualWorkspaceRef', message: 'field not declared in schema' },
  // VirtualWorkspace
  { kind: 'VirtualWorkspace', name: 'no target', invalid: { target: { rootShardRef: undefined } }, valid: {}, field: 'spec.target', message: 'exactly one of spec.target.rootShardRef and spec.target.shardRef must be set' },
  { kind: 'VirtualWorkspace', name: 'two targets', invalid: { target: { shardRef: { name: 'shard-1' } } }, valid: { target: { rootShardRef: undefined, shardRef: { name: 'shard-1' } } }, field: 'spec.target', message: 'exactly one of spec.target.rootShardRef and spec.target.shardRef must be set' },
  { kind: 'VirtualWorkspace', name: 'external is missing', invalid: { external: undefined }, valid: {}, field: 'spec.external', message: 'Required value' },
  { kind: 'VirtualWorkspace', name: 'external.port out of range', invalid: { external: { port: 70000 } }, valid: { external: { port: 443 } }, field: 'spec.external.port', message: 'less than or equal to 65535' },
  { kind: 'VirtualWorkspace', name: 'init container without a name', invalid: { initContainers: [{ command: ['/init'] }] }, valid: { initContainers: [{ name: 'init', command: ['/init'] }] }, field: 'spec.initContainers', message: 'omits all key fields ["name"]' },
  // podDisruptionBudget and serverURL (ours)
  { kind: 'FrontProxy', name: 'podDisruptionBudget with minAvailable and maxUnavailable', invalid: { podDisruptionBudget: { minAvailable: 1, maxUnavailable: 1 } }, valid: { podDisruptionBudget: { minAvailable: 1 } }, field: 'spec.podDisruptionBudget.minAvailable', message: 'podDisruptionBudget.minAvailable and podDisruptionBudget.maxUnavailable cannot both be set' },
  { kind: 'Shard', name: 'podDisruptionBudget with both, as percentages', invalid: { podDisruptionBudget: { minAvailable: '50%', maxUnavailable: '50%' } }, valid: { podDisruptionBudget: { maxUnavailable: '50%' } }, field: 'spec.podDisruptionBudget.minAvailable', message: 'cannot both be set' },
  { kind: 'RootShard', name: 'podDisruptionBudget percentage above 100%', invalid: { podDisruptionBudget: { maxUnavailable: '150%' } }, valid: { podDisruptionBudget: { maxUnavailable: '100%' } }, field: 'spec.podDisruptionBudget.maxUnavailable', message: 'a number of Pods (0 or more) or a percentage from 0% to 100%' },
  { kind: 'CacheServer', name: 'podDisruptionBudget negative', invalid: { podDisruptionBudget: { minAvailable: -1 } }, valid: { podDisruptionBudget: { minAvailable: 0 } }, field: 'spec.podDisruptionBudget.minAvailable', message: 'a number of Pods (0 or more)' },
  { kind: 'Kubeconfig', name: 'serverURL is http', invalid: { serverURL: 'http://kcp.example.com' }, valid: { serverURL: 'https://kcp.example.com' }, field: 'spec.serverURL', message: 'serverURL must be an https URL' },
  { kind: 'Kubeconfig', name: 'serverURL has a path', invalid: { serverURL: 'https://kcp.example.com/clusters/root' }, valid: { serverURL: 'https://kcp.example.com:443/' }, field: 'spec.serverURL', message: 'should match' },
];

type Result = KubectlResult;

function kubectl(args: string[], input?: string): Promise<Result> {
  return runKubectl(inject('kubeconfigPath'), args, input);
}

function manifest(kind: Kind, name: string, spec: Spec): string {
  return JSON.stringify({ apiVersion: 'operator.kcp.io/v1alpha1', kind, metadata: { name }, spec });
}

function applyArgs(namespace: string): string[] {
  return ['apply', '--server-side', '--validate=strict', '--field-manager=api-validation-test', '-n', namespace, '-f', '-'];
}

let namespace: string;

beforeAll(async () => {
  namespace = `api-validation-${randomBytes(3).toString('hex')}`;
  const r = await kubectl(['create', 'namespace', namespace]);
  if (r.code !== 0) throw new Error(r.stderr);
});

describe('admission validation', () => {
  it(`covers at least 40 cases across every kind (has ${CASES.length})`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
    expect(new Set(CASES.map((c) => c.kind)).size).toBe(6);
    expect(new Set(CASES.map((c) => `${c.kind}: ${c.name}`)).size).toBe(CASES.length);
  });

  CASES.forEach((c, i) => {
    it(`${c.kind}: ${c.name} is rejected naming the field; the fixed manifest is accepted`, async () => {
      const name = `case-${i}`;
      const bad = await kubectl(applyArgs(namespace), manifest(c.kind, name, merge(BASE[c.kind], c.invalid)));
      expect(bad.code, `accepted: ${bad.stdout}`).not.toBe(0);
      const field = c.field;
      if (typeof field === 'string') expect(bad.stderr).toContain(field);
      else expect(bad.stderr).toMatch(field);
      if (c.message !== undefined) {
        if (typeof c.message === 'string') expect(bad.stderr).toContain(c.message);
        else expect(bad.stderr).toMatch(c.message);
      }

      const good = await kubectl(applyArgs(namespace), manifest(c.kind, name, merge(BASE[c.kind], c.valid)));
      expect(good.stderr).toBe('');
      expect(good.code).toBe(0);
    });
  });
});

describe('status subresource validation', () => {
  it('rejects a phase outside the enum and a condition without reason, naming the field', async () => {
    const name = 'status-check';
    const created = await kubectl(applyArgs(namespace), manifest('CacheServer', name, {}));
    expect(created.code, created.stderr).toBe(0);
    const patch = (status: Json): Promise<Result> =>
      kubectl([
        'patch', '-n', namespace, 'cacheserver.operator.kcp.io', name, '--subresource=status', '--type=merge',
        '-p', JSON.stringify({ status }),
      ]);

    const badPhase = await patch({ phase: 'Exploded' });
    expect(badPhase.code).not.toBe(0);
    expect(badPhase.stderr).toContain('status.phase');
    expect(badPhase.stderr).toContain('Unsupported value');

    const condition = { type: 'Available', status: 'True', lastTransitionTime: '2025-01-01T00:00:00Z', message: '' };
    const noReason = await patch({ conditions: [condition] });
    expect(noReason.code).not.toBe(0);
    expect(noReason.stderr).toContain('status.conditions[0].reason');

    const fine = await patch({ observedGeneration: 1, phase: 'Running', conditions: [{ ...condition, reason: 'ReplicasUp' }] });
    expect(fine.stderr).toBe('');
    expect(fine.code).toBe(0);
  });
});
