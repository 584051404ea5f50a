// A host given as an IP literal (shardBaseURL, external.hostname) must become an IP SAN: a TLS
// client never matches an IP against DNS SANs, so the certificate would not verify.
import { describe, expect, it } from 'vitest';
import { frontProxyCertificates, rootShardCertificates, shardCertificates, type PlannedCertificate } from './hierarchy.js';

const server = (plans: PlannedCertificate[], name: string) => {
  const p = plans.find((x) => x.secretName === name);
  if (!p) throw new Error(`no ${name}`);
  return p;
};

describe('IP hosts become IP SANs', () => {
  it('for a Shard whose shardBaseURL is an IPv4 or IPv6 address', () => {
    for (const [url, ip] of [['https://10.0.0.5:6443', '10.0.0.5'], ['https://[fd00::5]:6443', 'fd00::5']] as const) {
      const p = server(shardCertificates({ name: 's', namespace: 'kcp', shardBaseURL: url, rootShard: { name: 'root' } }), 's-server');
      expect(p.ipAddresses).toContain(ip);
      expect(p.dnsNames).not.toContain(ip);
      expect(p.dnsNames).toContain('s-shard-kcp.kcp.svc.cluster.local');
    }
  });

  it('for a RootShard and a FrontProxy whose external hostname is an address', () => {
    const root = rootShardCertificates({ name: 'root', namespace: 'kcp', externalHostname: '192.0.2.10', shardBaseURL: 'https://192.0.2.11:6443' });
    const rs = server(root, 'root-server');
    expect(rs.ipAddresses).toEqual(expect.arrayContaining(['192.0.2.10', '192.0.2.11']));
    expect(rs.dnsNames.filter((h) => /^[0-9.]+$/.test(h))).toEqual([]);
    expect(server(root, 'root-virtual-workspaces').ipAddresses).toEqual(['192.0.2.10']);
    const fp = server(frontProxyCertificates({ name: 'fp', rootShard: { name: 'root', namespace: 'kcp', externalHostname: '192.0.2.10' } }), 'root-fp-server');
    expect(fp.ipAddresses).toEqual(['192.0.2.10']);
    expect(fp.dnsNames).not.toContain('192.0.2.10');
  });

  it('keeps DNS names as DNS SANs and adds no IP for them', () => {
    const p = server(shardCertificates({ name: 's', namespace: 'kcp', shardBaseURL: 'https://s.example.com:6443', rootShard: { name: 'root' } }), 's-server');
    expect(p.ipAddresses).toEqual([]);
    expect(p.dnsNames).toContain('s.example.com');
  });
});
