// The standalone-cache topology of the e2e tier: config/samples' etcd per shard, RootShard,
// Shard, FrontProxy and admin Kubeconfig, with one change: a CacheServer `cache` (empty spec: one
// replica, embedded etcd, built-in PKI) that the RootShard and the Shard both reference instead
// of the root shard's embedded cache. Plus the two clients the scenario needs besides the admin:
// one straight to a shard and one straight to the cache server, each through a forward to a
// Service with credentials the operator generated.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { KubeObject } from '../../src/kube/object.js';
import { Secrets } from '../../src/kube/resources.js';
import { kubeconfigText, type KubeconfigFile } from '../../local/forwarded-kubeconfig.js';
import type { LocalStack } from '../../local/stack.js';
import { runKubectl, type KubectlResult } from '../integration/kubectl.js';
import { sampleObjects } from './topology.js';

export const CACHE = 'cache';
/** kcp-operator's names: Deployment and Service `<name>-cache-server`. */
export const CACHE_DEPLOYMENT = `${CACHE}-cache-server`;
export const CACHE_PORT = 6443;

export const CACHE_TOPOLOGY = [`cacheserver/${CACHE}`, 'rootshard/root', 'shard/shard-2', 'frontproxy/front-proxy', 'kubeconfig/kcp-admin'];

/** The samples with the cache moved out of the root shard into a CacheServer both shards reference. */
export function cacheTopology(): KubeObject[] {
  const samples = sampleObjects();
  const one = (kind: string): KubeObject => {
    const o = samples.find((x) => x.kind === kind);
    if (!o) throw new Error(`config/samples has no ${kind}`);
    return structuredClone(o);
  };
  const etcd = samples.filter((o) => o.kind === 'Deployment' || o.kind === 'Service');
  const cacheServer: KubeObject = { apiVersion: 'operator.kcp.io/v1alpha1', kind: 'CacheServer', metadata: { name: CACHE }, spec: {} };
  const rootShard = one('RootShard');
  const shard = one('Shard');
  for (const s of [rootShard, shard]) (s.spec as Record<string, unknown>).cache = { ref: { name: CACHE } };
  return [...etcd, cacheServer, rootShard, shard, one('FrontProxy'), one('Kubeconfig')];
}


/**
 * The cache server as the shards reach it: its Service (through a forward), the CA the shards
 * mount (`<cs>-ca`) and the client certificate they present (`<cs>-client-certificate`).
 */
export class CacheClient {
  private constructor(
    private readonly kubeconfigPath: string,
    private readonly forward: { close(): Promise<void> },
  ) {}

  static async open(stack: LocalStack): Promise<CacheClient> {
    const data = async (name: string) => (await stack.admin.get(Secrets, stack.namespace, name)).data as Record<string, string>;
    const ca = await data(`${CACHE}-ca`);
    const client = await data(`${CACHE}-client-certificate`);
    const forward = await stack.runner.forward(CACHE_DEPLOYMENT, CACHE_PORT);
    const config: KubeconfigFile = {
      clusters: [
        {
          name: 'cache',
          cluster: {
            server: `https://127.0.0.1:${forward.port}`,
            'certificate-authority-data': ca['tls.crt'] ?? '',
            'tls-server-name': `${CACHE_DEPLOYMENT}.${stack.namespace}.svc.cluster.local`,
          },
        },
      ],
      users: [{ name: 'cache', user: { 'client-certificate-data': client['tls.crt'] ?? '', 'client-key-data': client['tls.key'] ?? '' } }],
      contexts: [{ name: 'cache', context: { cluster: 'cache', user: 'cache' } }],
      'current-context': 'cache',
    };
    const out = path.join(stack.logDir, 'cache-client.kubeconfig');
    writeFileSync(out, kubeconfigText(config), { mode: 0o600 });
    return new CacheClient(out, forward);
  }

  /** `kubectl get --raw` below /services/cache. */
  raw(pathBelowCache: string): Promise<KubectlResult> {
    return runKubectl(this.kubeconfigPath, ['--request-timeout=20s', 'get', '--raw', `/services/cache${pathBelowCache}`]);
  }

  close(): Promise<void> {
    return this.forward.close();
  }
}

/** An APIResourceSchema and the APIExport of it: a namespaced `Widget` in `group`. */
export function widgetExport(exportName: string, group: string): KubeObject[] {
  const schemaName = `v1.widgets.${group}`;
  return [
    {
      apiVersion: 'apis.kcp.io/v1alpha1',
      kind: 'APIResourceSchema',
      metadata: { name: schemaName },
      spec: {
        group,
        names: { kind: 'Widget', listKind: 'WidgetList', plural: 'widgets', singular: 'widget' },
        scope: 'Namespaced',
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: { type: 'object', properties: { color: { type: 'string' } } },
              },
            },
          },
        ],
      },
    },
    {
      apiVersion: 'apis.kcp.io/v1alpha2',
      kind: 'APIExport',
      metadata: { name: exportName },
      spec: { resources: [{ group, name: 'widgets', schema: schemaName, storage: { crd: {} } }] },
    },
  ];
}

export function apiBinding(name: string, exportPath: string, exportName: string): KubeObject {
  return {
    apiVersion: 'apis.kcp.io/v1alpha2',
    kind: 'APIBinding',
    metadata: { name },
    spec: { reference: { export: { path: exportPath, name: exportName } } },
  };
}
