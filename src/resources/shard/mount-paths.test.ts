// Peers' service-account keys are mounted per shard name; a shard named like a built-in mount
// (`ca`, `server`, `client`, …) must not land inside or on top of another volume.
import { describe, expect, it } from 'vitest';
import type { RootShardSpec } from '../../api/rootshard.js';
import type { ShardSpec } from '../../api/shard.js';
import type { FrontProxySpec } from '../../api/frontproxy.js';
import { frontProxyMounts } from '../frontproxy/deployment.js';
import type { Mount } from '../common/workload.js';
import { shardMounts } from './deployment.js';
import { P } from './paths.js';

const root: RootShardSpec = { external: { hostname: 'kcp.example.com', port: 6443 }, cache: {}, etcd: { endpoints: ['http://etcd:2379'] }, auth: { serviceAccount: { enabled: true } } };
const PEERS = ['ca', 'server', 'client', 'service-account', 'mounts-proxy', 'oidc', 'peers', 'logical-cluster-admin', 'external-logical-cluster-admin', 'shard-a'];

/**
 * A peer's key mount collides when its path equals another mount's or one lies inside the other.
 * (Built-in mounts nest on purpose, as in kcp-operator's layout: the front-proxy's
 * requestheader CA inside its root CA directory.)
 */
function collisions(mounts: readonly Mount[]): string[] {
  const out: string[] = [];
  for (const a of mounts.filter((m) => m.volume.startsWith('sa-'))) {
    for (const b of mounts) {
      if (a !== b && (a.path === b.path || a.path.startsWith(`${b.path}/`) || b.path.startsWith(`${a.path}/`))) out.push(`${a.path} ~ ${b.path}`);
    }
  }
  return out;
}

describe('mount paths of peers\' service-account keys', () => {
  it('never collide with a built-in mount in a shard Pod, whatever the peers are called', () => {
    const mounts = shardMounts({ kind: 'Shard', owner: { metadata: { name: 'x' } }, name: 'x', namespace: 'kcp', spec: { rootShard: { ref: { name: 'root' } }, etcd: { endpoints: ['http://e:2379'] } } as ShardSpec, root: { name: 'root', spec: root }, serviceAccountPeers: PEERS });
    expect(collisions(mounts)).toEqual([]);
    // An ordinary name keeps kcp-operator's path.
    expect(P.peerServiceAccount('shard-a')).toBe('/etc/kcp/tls/shard-a/service-account');
  });

  it('never collide with a built-in mount in a front-proxy Pod either', () => {
    const mounts = frontProxyMounts({ owner: { metadata: { name: 'fp' } }, name: 'fp', namespace: 'kcp', spec: { rootShard: { ref: { name: 'root' } }, auth: { serviceAccount: { enabled: true } } } as FrontProxySpec, root: { name: 'root', spec: root }, serviceAccountPeers: PEERS });
    expect(collisions(mounts)).toEqual([]);
  });
});
