/** The API group of every kind this operator serves (the same as kcp-operator's). */
export const API_GROUP = 'operator.kcp.io';

/** The one served and stored version. */
export const API_VERSION = 'v1alpha1';

/** `apiVersion` as written in manifests. */
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}` as const;

/** How one kind is named in the API: what `kubectl get` and the REST paths use. */
export interface KindNames {
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  /** `kubectl get kcp` lists every kind in the category. */
  readonly categories: readonly string[];
}

// No short names: kcp-operator has none, and the obvious ones (`rs`, `fp`) collide or confuse.
const CATEGORIES = ['kcp'] as const;

export const ROOT_SHARD = {
  kind: 'RootShard',
  listKind: 'RootShardList',
  plural: 'rootshards',
  singular: 'rootshard',
  shortNames: [],
  categories: CATEGORIES,
} as const satisfies KindNames;

export const SHARD = {
  kind: 'Shard',
  listKind: 'ShardList',
  plural: 'shards',
  singular: 'shard',
  shortNames: [],
  categories: CATEGORIES,
} as const satisfies KindNames;

export const FRONT_PROXY = {
  kind: 'FrontProxy',
  listKind: 'FrontProxyList',
  plural: 'frontproxies',
  singular: 'frontproxy',
  shortNames: [],
  categories: CATEGORIES,
} as const satisfies KindNames;

export const CACHE_SERVER = {
  kind: 'CacheServer',
  listKind: 'CacheServerList',
  plural: 'cacheservers',
  singular: 'cacheserver',
  shortNames: [],
  categories: CATEGORIES,
} as const satisfies KindNames;

export const KUBECONFIG = {
  kind: 'Kubeconfig',
  listKind: 'KubeconfigList',
  plural: 'kubeconfigs',
  singular: 'kubeconfig',
  shortNames: [],
  categories: CATEGORIES,
} as const satisfies KindNames;

export const VIRTUAL_WORKSPACE = {
  kind: 'VirtualWorkspace',
  listKind: 'VirtualWorkspaceList',
  plural: 'virtualworkspaces',
  singular: 'virtualworkspace',
  shortNames: [],
  categories: CATEGORIES,
} as const satisfies KindNames;

/** Every kind, keyed by kind name. */
export const KINDS = {
  RootShard: ROOT_SHARD,
  Shard: SHARD,
  FrontProxy: FRONT_PROXY,
  CacheServer: CACHE_SERVER,
  Kubeconfig: KUBECONFIG,
  VirtualWorkspace: VIRTUAL_WORKSPACE,
} as const;

export type KindName = keyof typeof KINDS;

/** The CRD name of a kind, `<plural>.<group>`. */
export function crdName(names: KindNames): string {
  return `${names.plural}.${API_GROUP}`;
}
