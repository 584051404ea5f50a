// The standard topology with short-lived serving certificates: `certificateTemplates.server` on the
// RootShard, the Shard and the FrontProxy, the field kcp-operator users set for this, with a
// lifetime of minutes, so the built-in PKI renews them while a test watches.
import type { KubeObject } from '../../src/kube/object.js';
import { sampleObjects } from './topology.js';

export interface ServerCertificate {
  /** The kind and name whose `certificateTemplates.server` it is. */
  owner: string;
  secret: string;
  deployment: string;
  service: string;
  /** The name a client asks for (SNI) and checks the certificate against. */
  serverName: (namespace: string) => string;
}

/** The serving certificates of the samples, with what mounts and presents each. */
export const SERVER_CERTIFICATES: readonly ServerCertificate[] = [
  { owner: 'rootshard/root', secret: 'root-server', deployment: 'root-kcp', service: 'root-kcp', serverName: (ns) => `root-kcp.${ns}.svc.cluster.local` },
  { owner: 'shard/shard-2', secret: 'shard-2-server', deployment: 'shard-2-shard-kcp', service: 'shard-2-shard-kcp', serverName: (ns) => `shard-2-shard-kcp.${ns}.svc.cluster.local` },
  { owner: 'frontproxy/front-proxy', secret: 'root-front-proxy-server', deployment: 'front-proxy-front-proxy', service: 'front-proxy-front-proxy', serverName: () => 'kcp.dev.local' },
];

/** The samples, with `certificateTemplates.server.spec` {duration, renewBefore} on each kcp kind that serves. */
export function samplesWithShortLivedServing(duration: string, renewBefore: string): KubeObject[] {
  return sampleObjects().map((o) => {
    if (!['RootShard', 'Shard', 'FrontProxy'].includes(o.kind ?? '')) return o;
    const spec = (o.spec ?? {}) as Record<string, unknown>;
    return { ...o, spec: { ...spec, certificateTemplates: { server: { spec: { duration, renewBefore } } } } };
  });
}
