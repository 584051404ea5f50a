import { describe, expect, it } from 'vitest';
import { loadClusterKubeconfig } from './kubeconfig.js';

const kc = (user: string, cluster = 'server: https://10.0.0.1:6443') => `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {${cluster}}}]
users: [{name: u, user: {${user}}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`;

describe('registration kubeconfigs', () => {
  it('accepts inline credentials', () => {
    expect(typeof loadClusterKubeconfig(kc('token: abc'))).not.toBe('string');
    expect(typeof loadClusterKubeconfig(kc('client-certificate-data: QQ==, client-key-data: QQ=='))).not.toBe('string');
  });

  it.each([
    ['exec: {command: /bin/sh, apiVersion: client.authentication.k8s.io/v1}', 'exec'],
    ['auth-provider: {name: gcp}', 'auth-provider'],
    ['tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token', 'tokenFile'],
    ['client-key: /etc/key.pem', 'client-key'],
  ])('refuses %s', (user, field) => {
    expect(loadClusterKubeconfig(kc(user))).toMatch(new RegExp(`"${field}"`));
  });

  it('refuses a CA read from a file', () => {
    expect(loadClusterKubeconfig(kc('token: a', 'server: https://x, certificate-authority: /etc/ca.pem'))).toMatch(/certificate-authority/);
  });

  it('never quotes the input in its errors', () => {
    const secret = 'token: SUPER-SECRET-TOKEN\n  : : [';
    const err = loadClusterKubeconfig(`users:\n  - ${secret}`);
    expect(typeof err).toBe('string');
    expect(String(err)).not.toContain('SUPER-SECRET');
    expect(loadClusterKubeconfig('just a string')).toMatch(/not a YAML mapping/);
    expect(loadClusterKubeconfig(kc('token: a', 'server: ftp://x'))).toMatch(/http/);
  });
});
