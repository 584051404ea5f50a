// The front-proxy's path-mapping file (kcp's pkg/server/proxy/types PathMapping, a YAML list with
// snake_case keys): /clusters/ and /services/ go to the root shard (kcp-front-proxy routes
// /clusters/ per workspace to the right shard itself and ignores its backend), then the user's
// additionalPathMappings. When the root shard leaves its virtual workspaces to a VirtualWorkspace,
// /services/ goes to that server instead: the root shard no longer serves it.
import { stringify } from 'yaml';
import type { PathMappingEntry } from '../../api/frontproxy.js';
import type { KubeObject } from '../../kube/object.js';
import { ownedConfigMap } from '../common/secret.js';
import { crt, key } from '../shard/paths.js';
import { baseURL } from '../shard/model.js';
import { frontProxyIdentity, frontProxyNames, type FrontProxyModel } from './model.js';
import { FP, MAPPING_FILE } from './paths.js';

/** Whether the backends are verified with the merged bundle rather than the root CA alone. */
export function usesCABundle(m: FrontProxyModel): boolean {
  return !!(m.spec.caBundleSecretRef?.name || m.root.spec.caBundleSecretRef?.name);
}

/** The CA file that verifies the shards' serving certificates. */
export function backendCAFile(m: FrontProxyModel): string {
  return crt(usesCABundle(m) ? FP.caBundle : FP.rootCA);
}

export function rootShardURL(m: FrontProxyModel): string {
  return baseURL({ kind: 'RootShard', name: m.root.name, namespace: m.namespace, spec: m.root.spec });
}

export function pathMappings(m: FrontProxyModel): PathMappingEntry[] {
  const route = (path: string, backend = rootShardURL(m)): PathMappingEntry => ({
    path,
    backend,
    backend_server_ca: backendCAFile(m),
    proxy_client_cert: crt(FP.requestHeaderClient),
    proxy_client_key: key(FP.requestHeaderClient),
  });
  // The VirtualWorkspace's certificate is signed by the server CA, like a shard's: the same CA file verifies it.
  return [route('/clusters/'), route('/services/', m.virtualWorkspaceURL), ...(m.spec.additionalPathMappings ?? [])];
}

export function pathMappingConfigMap(m: FrontProxyModel): KubeObject {
  return ownedConfigMap(
    { name: frontProxyNames(m).config, namespace: m.namespace, labels: frontProxyIdentity(m).labels, owner: m.owner },
    { [MAPPING_FILE]: stringify(pathMappings(m), { lineWidth: 0 }) },
  );
}
