import { beforeAll, describe, expect, it } from 'vitest';
import {
  JOIN_KEY,
  MAX_DOCUMENT_BYTES,
  ProtocolError,
  REQUEST_KEY,
  RESPONSE_KEY,
  joinConfigMapName,
  parseJoinInfo,
  parseJoinRequest,
  parseJoinResponse,
  parseOrigin,
  pendingKeysSecretName,
  requestConfigMapName,
  responseConfigMapName,
  type JoinRequest,
  type JoinResponse,
} from './protocol.js';
import { joiningShard, rootHierarchy, signedResponse, type Hierarchy, type Joining } from './testing.js';

let h: Hierarchy;
let edge: Joining;
let response: JoinResponse;
let privateKeyPem: string;
beforeAll(async () => {
  h = await rootHierarchy();
  edge = await joiningShard(h.info);
  response = await signedResponse(h, edge.request);
  privateKeyPem = edge.keys.client ?? '';
  expect(privateKeyPem).toContain('PRIVATE KEY');
});

type Doc = Record<string, unknown>;
const info = (patch: Doc = {}) => ({ [JOIN_KEY]: JSON.stringify({ ...h.info, ...patch }) });
const request = (patch: Doc = {}) => ({ [REQUEST_KEY]: JSON.stringify({ ...edge.request, ...patch }) });
const resp = (patch: Doc = {}) => ({ [RESPONSE_KEY]: JSON.stringify({ ...response, ...patch }) });

/** Refused with a ProtocolError whose message matches, and quotes no PEM or base64 content. */
function refuses(parse: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    parse();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  const m = (caught as ProtocolError).message;
  expect(m).toMatch(message);
  expect(m).not.toContain('BEGIN');
  expect(m).not.toContain('PRIVATE KEY-----');
  expect(m).not.toMatch(/[A-Za-z0-9+/=]{40,}/);
}

describe('names', () => {
  it('are derived from the shard or RootShard name', () => {
    expect([joinConfigMapName('root'), requestConfigMapName('edge-1'), responseConfigMapName('edge-1'), pendingKeysSecretName('edge-1')]).toEqual([
      'root-federation',
      'edge-1-join-request',
      'edge-1-join-response',
      'edge-1-join-keys',
    ]);
  });
});

describe('round trips', () => {
  it('parseJoinInfo reads what the RootShard publishes', () => {
    expect(parseJoinInfo(info())).toEqual(h.info);
    const withPrivate = { ...h.info, external: { hostname: 'api.kcp.example.com', port: 443, privateHostname: 'kcp.internal', privatePort: 6443 } };
    expect(parseJoinInfo({ [JOIN_KEY]: JSON.stringify(withPrivate) })).toEqual(withPrivate);
    expect(parseJoinInfo(info({ rootShardURL: 'https://root.example.com:6443/' })).rootShardURL).toBe('https://root.example.com:6443');
  });

  it('parseJoinRequest reads what buildJoinRequest makes', () => {
    expect(parseJoinRequest(request())).toEqual(edge.request);
    const full: JoinRequest = { ...edge.request, shardBaseURL: 'https://edge-1.example.com:6443', clusterDomain: 'edge.local' };
    expect(parseJoinRequest({ [REQUEST_KEY]: JSON.stringify(full) })).toEqual(full);
  });

  it('parseJoinResponse reads a signed response, and a refused one', () => {
    expect(parseJoinResponse(resp())).toEqual(response);
    const refused: JoinResponse = { ...response, signed: undefined, refused: { generation: 2, reason: 'KeyReused', message: 'no' } };
    const { signed: _signed, ...withoutSigned } = refused;
    expect(parseJoinResponse({ [RESPONSE_KEY]: JSON.stringify(refused) })).toEqual(withoutSigned);
  });

  it('parseJoinResponse keeps only well-formed signedKeys', () => {
    const keys = [...response.signedKeys, 'not-a-fingerprint', 42, 'A'.repeat(64)];
    expect(parseJoinResponse(resp({ signedKeys: keys })).signedKeys).toEqual(response.signedKeys);
  });
});

describe('documents that are refused', () => {
  const parsers: [string, (d: Record<string, string> | undefined) => unknown, string, () => Record<string, string>][] = [
    ['join info', (d) => parseJoinInfo(d), JOIN_KEY, () => info()],
    ['join request', (d) => parseJoinRequest(d), REQUEST_KEY, () => request()],
    ['join response', (d) => parseJoinResponse(d), RESPONSE_KEY, () => resp()],
  ];

  it.each(parsers)('%s: a missing key', (_what, parse, key) => {
    refuses(() => parse(undefined), new RegExp(`has no ${key}`));
    refuses(() => parse({ other: '{}' }), new RegExp(`has no ${key}`));
  });

  it.each(parsers)('%s: not JSON, or not an object', (_what, parse, key) => {
    refuses(() => parse({ [key]: '{"kind":' }), /is not JSON/);
    refuses(() => parse({ [key]: `-----BEGIN PRIVATE KEY-----\n${'QUJD'.repeat(20)}\n-----END PRIVATE KEY-----` }), /is not JSON/);
    refuses(() => parse({ [key]: '[1,2]' }), /is not an object/);
    refuses(() => parse({ [key]: 'null' }), /is not an object/);
  });

  it.each(parsers)('%s: larger than MAX_DOCUMENT_BYTES', (_what, parse, key, valid) => {
    const doc = JSON.parse(valid()[key] ?? '{}') as Doc;
    refuses(() => parse({ [key]: JSON.stringify({ ...doc, pad: 'x'.repeat(MAX_DOCUMENT_BYTES) }) }), /larger than/);
    // Bytes, not characters: 2-byte characters under the limit in length, over it in size.
    refuses(() => parse({ [key]: JSON.stringify({ ...doc, pad: 'é'.repeat(MAX_DOCUMENT_BYTES / 2 + 1) }) }), /larger than/);
  });

  it.each(parsers)('%s: wrong kind or version', (_what, parse, key, valid) => {
    const doc = JSON.parse(valid()[key] ?? '{}') as Doc;
    refuses(() => parse({ [key]: JSON.stringify({ ...doc, kind: 'KcpSomethingElse' }) }), /kind must be/);
    refuses(() => parse({ [key]: JSON.stringify({ ...doc, kind: undefined }) }), /kind must be/);
    refuses(() => parse({ [key]: JSON.stringify({ ...doc, version: 2 }) }), /version 2 is not supported/);
    refuses(() => parse({ [key]: JSON.stringify({ ...doc, version: '1' }) }), /version/);
    // A version field carrying content must not be echoed into the error (it ends up in status and Events).
    refuses(() => parse({ [key]: JSON.stringify({ ...doc, version: privateKeyPem }) }), /version/);
  });
});

describe('parseJoinInfo', () => {
  it('refuses a private key in a CA certificate field', () => {
    const cas = h.info.caCertificates;
    refuses(() => parseJoinInfo(info({ caCertificates: { ...cas, server: `${cas.server}${privateKeyPem}` } })), /caCertificates\.server contains a private key/);
    refuses(() => parseJoinInfo(info({ caCertificates: { ...cas, root: privateKeyPem } })), /caCertificates\.root must be a PEM CERTIFICATE/);
  });

  it('refuses missing or malformed CA certificates', () => {
    const { client: _client, ...noClient } = h.info.caCertificates;
    refuses(() => parseJoinInfo(info({ caCertificates: noClient })), /caCertificates\.client must be a PEM CERTIFICATE/);
    refuses(() => parseJoinInfo(info({ caCertificates: undefined })), /caCertificates is missing/);
    refuses(() => parseJoinInfo(info({ caCertificates: { ...h.info.caCertificates, root: `${h.info.caCertificates.root}${'A'.repeat(16 * 1024)}` } })), /caCertificates\.root must be a PEM/);
  });

  it.each([
    ['uppercase RootShard name', { rootShard: { name: 'Root', namespace: 'kcp' } }, /name is not a valid name/],
    ['a slash in the namespace', { rootShard: { name: 'root', namespace: 'kcp/other' } }, /namespace is not a valid name/],
    ['a slash in requestNamespace', { requestNamespace: '../kube-system' }, /requestNamespace is not a valid name/],
    ['no rootShard', { rootShard: undefined }, /rootShard is missing/],
    ['no external', { external: undefined }, /external is missing/],
    ['a port that is not a positive integer', { external: { hostname: 'api.kcp.example.com', port: 0 } }, /port must be an integer/],
    ['a maxCertificateDurationMs that is not an integer', { maxCertificateDurationMs: 1.5 }, /maxCertificateDurationMs/],
  ])('refuses %s', (_what, patch, message) => {
    refuses(() => parseJoinInfo(info(patch)), message);
  });

  it.each(['https://root.example.com/path', 'https://root.example.com:6443/clusters/root', 'http://root.example.com', 'root.example.com', 'https://root example.com', ''])(
    'refuses rootShardURL %j',
    (rootShardURL) => {
      refuses(() => parseJoinInfo(info({ rootShardURL })), /rootShardURL must be/);
    },
  );

  it('reads serviceAccountAuth only when it is true', () => {
    expect(parseJoinInfo(info({ serviceAccountAuth: 'yes' })).serviceAccountAuth).toBe(false);
    expect(parseJoinInfo(info({ serviceAccountAuth: true })).serviceAccountAuth).toBe(true);
  });
});

describe('parseJoinRequest', () => {
  const entry = () => edge.request.certificates[0] as JoinRequest['certificates'][number];

  it('refuses a private key in a csr field', () => {
    refuses(() => parseJoinRequest(request({ certificates: [{ ...entry(), csr: `${entry().csr}${privateKeyPem}` }] })), /certificates\[0\]\.csr contains a private key/);
    refuses(() => parseJoinRequest(request({ certificates: [{ ...entry(), csr: privateKeyPem }] })), /certificates\[0\]\.csr must be a PEM CERTIFICATE REQUEST/);
  });

  it('refuses 0 or 33 certificates, and entries that are not objects', () => {
    refuses(() => parseJoinRequest(request({ certificates: [] })), /1 to 32/);
    refuses(() => parseJoinRequest(request({ certificates: Array.from({ length: 33 }, entry) })), /1 to 32/);
    refuses(() => parseJoinRequest(request({ certificates: 'all' })), /1 to 32/);
    refuses(() => parseJoinRequest(request({ certificates: [null] })), /certificates\[0\] is not an object/);
    expect(parseJoinRequest(request({ certificates: Array.from({ length: 32 }, entry) })).certificates).toHaveLength(32);
  });

  it.each([
    ['uppercase shard', { shard: 'Edge-1' }, /shard is not a valid name/],
    ['a slash in the shard', { shard: 'edge/1' }, /shard is not a valid name/],
    ['a slash in the namespace', { namespace: 'kcp-edge/x' }, /namespace is not a valid name/],
    ['uppercase rootShard', { rootShard: 'ROOT' }, /rootShard is not a valid name/],
    ['an empty shard', { shard: '' }, /shard must be a non-empty string/],
    ['a clusterDomain with a slash', { clusterDomain: 'cluster.local/x' }, /clusterDomain is not a valid name/],
    ['generation 0', { generation: 0 }, /generation must be an integer ≥ 1/],
    ['a generation that is a string', { generation: '2' }, /generation must be an integer/],
  ])('refuses %s', (_what, patch, message) => {
    refuses(() => parseJoinRequest(request(patch)), message);
  });

  it('refuses bad entries: templateKey, durationMs', () => {
    refuses(() => parseJoinRequest(request({ certificates: [{ ...entry(), templateKey: 'Server' }] })), /templateKey is not a valid name/);
    refuses(() => parseJoinRequest(request({ certificates: [{ ...entry(), templateKey: '../server' }] })), /templateKey is not a valid name/);
    refuses(() => parseJoinRequest(request({ certificates: [{ ...entry(), durationMs: -1 }] })), /durationMs must be an integer ≥ 1/);
  });
});

describe('parseJoinResponse', () => {
  it('refuses a private key among the signed certificates', () => {
    const certificates = { ...response.signed?.certificates, client: `${response.signed?.certificates.client ?? ''}${privateKeyPem}` };
    refuses(() => parseJoinResponse(resp({ signed: { ...response.signed, certificates } })), /signed\.certificates\.client contains a private key/);
    refuses(() => parseJoinResponse(resp({ signed: { ...response.signed, certificates: { client: privateKeyPem } } })), /must be a PEM CERTIFICATE/);
  });

  it('refuses a malformed signed or refused part, and bad names', () => {
    refuses(() => parseJoinResponse(resp({ signed: 'yes' })), /signed is malformed/);
    refuses(() => parseJoinResponse(resp({ signed: { generation: 1, notAfter: 'x' } })), /signed is malformed/);
    refuses(() => parseJoinResponse(resp({ refused: 'no' })), /refused is malformed/);
    refuses(() => parseJoinResponse(resp({ refused: { generation: 1, reason: 'X' } })), /message must be a non-empty string/);
    refuses(() => parseJoinResponse(resp({ shard: 'Edge-1' })), /shard is not a valid name/);
    refuses(() => parseJoinResponse(resp({ namespace: 'a/b' })), /namespace is not a valid name/);
    refuses(() => parseJoinResponse(resp({ originUid: 'u'.repeat(65) })), /originUid is too long/);
  });
});

describe('parseOrigin', () => {
  it('reads cluster/namespace/name', () => {
    expect(parseOrigin('edge-a/kcp-edge/edge-1-join-request')).toEqual({ cluster: 'edge-a', namespace: 'kcp-edge', name: 'edge-1-join-request' });
  });

  it.each([undefined, '', 'kcp-edge/edge-1-join-request', 'a/b/c/d', 'edge-a//edge-1-join-request', '/kcp-edge/x', 'edge-a/kcp-edge/', '//'])('refuses %j', (origin) => {
    expect(parseOrigin(origin)).toBeUndefined();
  });
});

