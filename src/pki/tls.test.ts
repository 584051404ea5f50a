/** Real TLS handshakes (node:tls, i.e. OpenSSL) on 127.0.0.1 with certificates from the plan. */
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeCABundles } from './bundle.js';
import type { TlsSecretData } from './bundle.js';
import { frontProxyCertificates, kubeconfigCertificate, rootShardCertificates } from './hierarchy.js';
import { issueAll, issuePlanned } from './issue.js';

const ONE_YEAR = 365 * 24 * 3600_000;
const rs = { name: 'root', namespace: 'kcp', externalHostname: 'kcp.example.com' };
let ours: Map<string, TlsSecretData>;
let theirs: Map<string, TlsSecretData>;
const get = (m: Map<string, TlsSecretData>, name: string): TlsSecretData => m.get(name) as TlsSecretData;

beforeAll(async () => {
  ours = await issueAll([...rootShardCertificates(rs), ...frontProxyCertificates({ name: 'fp', rootShard: rs })]);
  theirs = await issueAll(rootShardCertificates({ ...rs, name: 'other' }));
  const kc = kubeconfigCertificate({ name: 'alice', rootShard: 'root', username: 'alice', groups: ['devs'], validityMs: ONE_YEAR });
  ours.set(kc.secretName, (await issuePlanned(kc, { issuerSecret: get(ours, 'root-client-ca') })).secretData);
});

const servers: tls.Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

interface ServerSeen {
  authorized: boolean;
  authorizationError?: string;
  commonName?: string;
  organizations?: string[];
}

async function serve(options: tls.TlsOptions): Promise<{ port: number; seen: ServerSeen[]; errors: string[] }> {
  const seen: ServerSeen[] = [];
  const errors: string[] = [];
  const server = tls.createServer(options, (socket) => {
    const peer = socket.getPeerCertificate();
    const o = peer.subject?.O;
    const cn = peer.subject?.CN;
    seen.push({
      authorized: socket.authorized,
      authorizationError: socket.authorizationError == null ? undefined : String(socket.authorizationError),
      commonName: Array.isArray(cn) ? cn.join(',') : cn,
      organizations: o === undefined ? undefined : Array.isArray(o) ? o : [o],
    });
    socket.end('ok');
  });
  server.on('tlsClientError', (err: NodeJS.ErrnoException) => errors.push(err.code ?? err.message));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, seen, errors };
}

/** Connects, reads the server's reply; resolves with what the client saw rather than throwing. */
function connect(port: number, options: tls.ConnectionOptions): Promise<{ ok: boolean; code?: string; data?: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ...options });
    let data = '';
    socket.on('data', (d: Buffer) => (data += d.toString()));
    socket.on('end', () => resolve({ ok: data === 'ok', data }));
    socket.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, code: err.code ?? err.message }));
  });
}

const serverOptions = (s: TlsSecretData): tls.TlsOptions => ({ cert: s['tls.crt'], key: s['tls.key'] });

describe('serving certificates', () => {
  it('is accepted by a client trusting the merged CA bundle, for each of its names', async () => {
    const { port } = await serve(serverOptions(get(ours, 'root-server')));
    const bundle = mergeCABundles([get(theirs, 'other-ca')['ca.crt'], get(ours, 'root-server')['ca.crt'], get(ours, 'root-ca')['tls.crt']]);
    for (const servername of ['kcp.example.com', 'root-kcp.kcp.svc.cluster.local']) {
      expect(await connect(port, { servername, ca: bundle })).toEqual({ ok: true, data: 'ok' });
    }
  });

  it('is rejected by a client trusting an unrelated CA, or asking for another name', async () => {
    const { port } = await serve(serverOptions(get(ours, 'root-server')));
    const unrelated = await connect(port, { servername: 'kcp.example.com', ca: get(theirs, 'other-ca')['ca.crt'] });
    expect(unrelated.ok).toBe(false);
    expect(unrelated.code).toMatch(/UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN/);
    const wrongName = await connect(port, { servername: 'evil.example.com', ca: get(ours, 'root-ca')['ca.crt'] });
    expect(wrongName).toMatchObject({ ok: false, code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('fails without the intermediate in tls.crt: the chain layout matters', async () => {
    const s = get(ours, 'root-server');
    const leafOnly = (s['tls.crt'].match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/) ?? [''])[0];
    const { port } = await serve({ cert: leafOnly, key: s['tls.key'] });
    const r = await connect(port, { servername: 'kcp.example.com', ca: s['ca.crt'] });
    expect(r).toMatchObject({ ok: false, code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('serves the front-proxy on its service names', async () => {
    const { port } = await serve(serverOptions(get(ours, 'root-fp-server')));
    expect(await connect(port, { servername: 'fp-front-proxy.kcp.svc.cluster.local', ca: get(ours, 'root-ca')['tls.crt'] })).toMatchObject({ ok: true });
  });
});

describe('client certificates', () => {
  /**
   * kcp's --client-ca-file is the client CA Secret's tls.crt, the intermediate alone, and Go treats
   * it as a trust anchor. OpenSSL in Node 20 has no partial-chain option, so this server also
   * trusts the root; the separation between intermediates is checked with openssl -partial_chain
   * in hierarchy.test.ts.
   */
  const clientCA = (): string => mergeCABundles([get(ours, 'root-client-ca')['tls.crt'], get(ours, 'root-client-ca')['ca.crt']]);
  const clientCAServer = (): Promise<{ port: number; seen: ServerSeen[]; errors: string[] }> =>
    serve({ ...serverOptions(get(ours, 'root-server')), requestCert: true, rejectUnauthorized: false, ca: clientCA() });
  const clientOptions = (s: TlsSecretData): tls.ConnectionOptions => ({
    servername: 'kcp.example.com',
    ca: get(ours, 'root-ca')['tls.crt'],
    cert: s['tls.crt'],
    key: s['tls.key'],
  });

  it('accepts a client certificate from the client CA and reads user and groups from it', async () => {
    const srv = await clientCAServer();
    expect(await connect(srv.port, clientOptions(get(ours, 'root-client')))).toMatchObject({ ok: true });
    expect(await connect(srv.port, clientOptions(get(ours, 'kubeconfig-cert-alice')))).toMatchObject({ ok: true });
    expect(srv.seen).toEqual([
      { authorized: true, authorizationError: undefined, commonName: 'root', organizations: ['system:masters'] },
      { authorized: true, authorizationError: undefined, commonName: 'alice', organizations: ['devs', 'kubeconfig:alice'] },
    ]);
  });

  it('does not authorize a client certificate from another installation’s CA', async () => {
    const srv = await clientCAServer();
    await connect(srv.port, clientOptions(get(theirs, 'other-client')));
    await connect(srv.port, clientOptions(get(theirs, 'other-kcp-operator')));
    expect(srv.seen.map((s) => s.authorized)).toEqual([false, false]);
    expect(srv.seen[0]?.authorizationError).toMatch(/UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
  });

  it('fails the handshake of a foreign client when the server enforces it', async () => {
    const { port, seen, errors } = await serve({
      ...serverOptions(get(ours, 'root-server')),
      requestCert: true,
      rejectUnauthorized: true,
      ca: clientCA(),
    });
    const foreign = await connect(port, clientOptions(get(theirs, 'other-client')));
    expect(foreign.ok).toBe(false);
    expect(errors.length).toBe(1);
    expect(await connect(port, clientOptions(get(ours, 'root-kcp-operator')))).toMatchObject({ ok: true });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ authorized: true, commonName: 'system:kcp-operator', organizations: ['system:kcp:admin'] });
  });
});
