// Real TLS handshakes with what the shard builders render: a Shard's serving certificate is
// accepted by a client trusting the merged CA bundle Secret, and the Shard's client certificate
// by a server trusting the merged client CA Secret.
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RootShardSpec } from '../../api/rootshard.js';
import type { ShardSpec } from '../../api/shard.js';
import type { TlsSecretData } from '../../pki/bundle.js';
import { rootShardCertificates, shardCertificates } from '../../pki/hierarchy.js';
import { issueAll } from '../../pki/issue.js';
import type { ShardModel } from './model.js';
import { shardSecrets } from './secrets.js';

const rootSpec = { external: { hostname: 'kcp.example.com', port: 6443 }, cache: {}, etcd: { endpoints: ['http://e:2379'] } } as RootShardSpec;
const model: ShardModel = {
  kind: 'Shard',
  owner: { apiVersion: 'operator.kcp.io/v1alpha1', kind: 'Shard', metadata: { name: 's1', namespace: 'kcp', uid: 'u' } },
  name: 's1',
  namespace: 'kcp',
  spec: { rootShard: { ref: { name: 'root' } }, etcd: { endpoints: ['http://e:2379'] } } as ShardSpec,
  root: { name: 'root', spec: rootSpec },
  serviceAccountPeers: [],
};

let secrets: Map<string, TlsSecretData>;
let other: Map<string, TlsSecretData>;
const get = (m: Map<string, TlsSecretData>, n: string) => m.get(n) as TlsSecretData;
const rendered = (name: string) => {
  const s = shardSecrets(model, {
    rootCA: get(secrets, 'root-ca')['tls.crt'],
    serverCA: get(secrets, 'root-server-ca')['tls.crt'],
    clientCA: get(secrets, 'root-client-ca')['tls.crt'],
    extraClientCAs: [],
  }).find((x) => x.metadata.name === name);
  return Buffer.from((s?.data as Record<string, string>)['tls.crt'] ?? '', 'base64').toString();
};

beforeAll(async () => {
  secrets = await issueAll([...rootShardCertificates({ name: 'root', namespace: 'kcp', externalHostname: 'kcp.example.com' }), ...shardCertificates({ name: 's1', namespace: 'kcp', rootShard: { name: 'root' } })]);
  other = await issueAll(rootShardCertificates({ name: 'other', namespace: 'kcp', externalHostname: 'kcp.example.com' }));
});

function serve(opts: tls.TlsOptions): Promise<{ port: number; server: tls.Server; peers: string[] }> {
  const peers: string[] = [];
  const server = tls.createServer(opts, (sock) => {
    peers.push(String(sock.getPeerCertificate()?.subject?.CN ?? ''));
    sock.end('ok');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port, server, peers })));
}

function connect(port: number, opts: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = tls.connect({ host: '127.0.0.1', port, ...opts }, () => undefined);
    let data = '';
    c.on('data', (d: Buffer) => (data += d.toString()));
    c.on('end', () => resolve(data));
    c.on('error', reject);
  });
}

describe('shard TLS with the rendered bundles', () => {
  const servers: tls.Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  it('a client trusting the merged CA bundle accepts the shard serving certificate by its service name', async () => {
    const { port, server } = await serve({ cert: get(secrets, 's1-server')['tls.crt'], key: get(secrets, 's1-server')['tls.key'] });
    servers.push(server);
    const bundle = rendered('s1-merged-ca-bundle');
    expect(await connect(port, { ca: bundle, servername: 's1-shard-kcp.kcp.svc.cluster.local' })).toBe('ok');
    await expect(connect(port, { ca: get(other, 'other-ca')['tls.crt'], servername: 's1-shard-kcp.kcp.svc.cluster.local' })).rejects.toThrow();
    await expect(connect(port, { ca: bundle, servername: 'elsewhere.example.com' })).rejects.toThrow(/altnames|Hostname/);
  });

  it('a server trusting the merged client CA accepts the shard client certificate (system:masters) and refuses a foreign one', async () => {
    // Node cannot anchor on an intermediate (no partial chain), so the server also trusts the
    // root; kcp (Go) anchors on the client CA alone.
    const { port, server, peers } = await serve({
      cert: get(secrets, 's1-server')['tls.crt'],
      key: get(secrets, 's1-server')['tls.key'],
      ca: [rendered('s1-merged-client-ca'), get(secrets, 'root-ca')['tls.crt']],
      requestCert: true,
      rejectUnauthorized: true,
    });
    servers.push(server);
    const trust = { ca: rendered('s1-merged-ca-bundle'), servername: 's1-shard-kcp.kcp.svc.cluster.local' };
    expect(await connect(port, { ...trust, cert: get(secrets, 's1-client')['tls.crt'], key: get(secrets, 's1-client')['tls.key'] })).toBe('ok');
    expect(peers).toContain('shard-s1');
    // With TLS 1.3 the client finishes its side first; the server then drops it: no 'ok' either way.
    const foreign = await connect(port, { ...trust, cert: get(other, 'other-client')['tls.crt'], key: get(other, 'other-client')['tls.key'] }).catch(() => 'refused');
    expect(foreign).not.toBe('ok');
    expect(peers).not.toContain('other');
  });
});
