// The patterns run on the API server under Go's RE2; these simple ones behave the same in
// JavaScript, which lets us pin what each accepts without a cluster.
import { describe, expect, it } from 'vitest';

import * as formats from './formats.js';

const cases: Array<[name: keyof typeof formats, good: string[], bad: string[]]> = [
  ['DURATION', ['8760h0m0s', '1h', '8766h', '90m', '1.5h', '300ms', '2h45m', '10us', '10µs', '0'], ['', '1', '1d', '-1h', 'h', '1 h', '1h ', 'P1D', '1.h']],
  [
    'DNS1123_SUBDOMAIN',
    ['a', 'etcd-client', 'my.secret.name', '0abc'],
    ['', 'Upper', '-a', 'a-', 'a_b', 'a..b', `${'a'.repeat(64)}`],
  ],
  [
    'HOSTNAME',
    ['example.operator.kcp.io', 'localhost', 'KCP.example.com', '10.96.100.100', 'a-b.c'],
    ['', 'https://kcp.example.com', 'kcp.example.com:6443', '-kcp.example.com', 'kcp..example.com', 'kcp_example.com', '*.example.com'],
  ],
  ['DNS_SAN', ['localhost', '*.kcp.example.com', 'root.shard.example.operator.kcp.io'], ['*', 'a.*.b', 'host name', 'kcp.example.com.']],
  [
    'HTTPS_URL',
    ['https://root.shard.example.operator.kcp.io:6443', 'https://kcp.example.com', 'https://[fd00::1]:6443/base', 'https://idp.example.com/realms/kcp'],
    ['http://kcp.example.com', 'kcp.example.com', 'https://', 'https://kcp.example.com:6443?x=1', 'https://kcp example.com'],
  ],
  [
    'ETCD_ENDPOINT',
    ['http://etcd.default.svc.cluster.local:2379', 'https://10.0.0.1:2379', 'https://etcd:2379/'],
    ['etcd:2379', 'ftp://etcd:2379', 'https://etcd:2379/prefix', 'https://etcd:2379,https://etcd2:2379'],
  ],
  ['WORKSPACE_PATH', ['root', 'root:org:team', 'root:a-b'], ['', 'Root', 'root:', ':root', 'root::team', 'root:-team', 'root/org']],
  ['URL_PATH', ['/services/access', '/'], ['services', '', '/a b']],
  ['FILE_PATH', ['/etc/kcp-front-proxy/tls/ca/tls.crt'], ['etc/ca.crt', '', '/a b']],
  [
    'IMAGE_REPOSITORY',
    ['ghcr.io/kcp-dev/kcp', 'localhost:5000/kcp', 'kcp', 'registry.example.com/mirror/kcp-dev/kcp'],
    ['ghcr.io/kcp-dev/kcp:v0.32.3', 'GHCR.io/kcp', 'ghcr.io//kcp', 'ghcr.io/kcp/'],
  ],
  ['IMAGE_TAG', ['v0.32.3', 'latest', 'main_2025-01-01'], ['', ':v1', '-v1', 'v1 2', `v${'1'.repeat(128)}`]],
  ['DECIMAL', ['3', '3.1', '0.5'], ['', '.5', '3.', '-1', '1e3']],
  ['KIND', ['Issuer', 'ClusterIssuer', 'AWSPCAClusterIssuer'], ['issuer', '', 'Cluster Issuer']],
  ['API_GROUP_NAME', ['', 'cert-manager.io', 'awspca.cert-manager.io'], ['Cert-Manager.io', 'cert-manager.io/v1']],
  ['GROUP_VERSION', ['audit.k8s.io/v1', 'v1', 'audit.k8s.io/v1beta1'], ['audit.k8s.io', 'audit.k8s.io/1', '/v1']],
];

describe('string formats', () => {
  for (const [name, good, bad] of cases) {
    it(`${name} accepts ${good.length} and rejects ${bad.length} examples`, () => {
      const re = new RegExp(formats[name] as string, 'u');
      expect(good.filter((s) => !re.test(s))).toEqual([]);
      expect(bad.filter((s) => re.test(s))).toEqual([]);
    });
  }

  it('celIsDuration embeds the duration pattern as a CEL raw string', () => {
    expect(formats.celIsDuration('self')).toBe(`self.matches(r'${formats.DURATION}')`);
    expect(formats.DURATION).not.toContain("'");
  });
});
