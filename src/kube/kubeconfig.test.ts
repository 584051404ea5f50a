import { chmodSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadKubeConfig } from './bootstrap.js';
import { KubeClient } from './client.js';
import { credentialsOf, inClusterConfig, KubeconfigError, loadDefaultKubeconfig, loadKubeconfigFile, parseKubeconfig } from './kubeconfig.js';
import { ConfigMaps } from './resources.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'kubeconfig-test-'));
const b64 = (s: string) => Buffer.from(s).toString('base64');

const doc = (o: { cluster?: string; user?: string; current?: string; extra?: string }) => `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {${o.cluster ?? 'server: https://10.0.0.1:6443'}}
users:
- name: u
  user: {${o.user ?? 'token: abc'}}
contexts:
- name: ctx
  context: {cluster: c, user: u, namespace: team}
${o.extra ?? ''}current-context: ${o.current ?? 'ctx'}
`;

describe('parseKubeconfig', () => {
  it('reads the current context: server, CA, client certificate, namespace', () => {
    const c = parseKubeconfig(
      doc({
        cluster: `server: https://kcp.example:6443, certificate-authority-data: ${b64('CA')}, tls-server-name: kcp.internal`,
        user: `client-certificate-data: ${b64('CERT')}, client-key-data: ${b64('KEY')}`,
      }),
      'test',
    );
    expect(c.server).toBe('https://kcp.example:6443');
    expect(c.caData?.toString()).toBe('CA');
    expect(c.certData?.toString()).toBe('CERT');
    expect(c.keyData?.toString()).toBe('KEY');
    expect(c.tlsServerName).toBe('kcp.internal');
    expect(c.namespace).toBe('team');
    expect(c.insecureSkipTLSVerify).toBeUndefined();
  });

  it('resolves file references against the kubeconfig\'s own directory, as kubectl does', () => {
    const sub = path.join(dir, 'rel');
    mkdirSync(sub, { recursive: true });
    writeFileSync(path.join(sub, 'ca.pem'), 'CA-FILE');
    writeFileSync(path.join(sub, 'c.pem'), 'CERT-FILE');
    writeFileSync(path.join(sub, 'k.pem'), 'KEY-FILE');
    writeFileSync(path.join(sub, 'config'), doc({ cluster: 'server: https://x, certificate-authority: ca.pem', user: 'client-certificate: c.pem, client-key: k.pem' }));
    const c = loadKubeconfigFile(path.join(sub, 'config'));
    expect([c.caData?.toString(), c.certData?.toString(), c.keyData?.toString()]).toEqual(['CA-FILE', 'CERT-FILE', 'KEY-FILE']);
  });

  it.each([
    ['no current-context', doc({ current: '""' }), /sets no current-context/],
    ['a missing context', doc({ current: 'other' }), /current-context "other" is not among its contexts/],
    ['a server that is not http(s)', doc({ cluster: 'server: ftp://x' }), /cluster "c" server is not an http\(s\) URL/],
    ['a missing server', doc({ cluster: 'insecure-skip-tls-verify: true' }), /cluster "c" server is missing/],
    ['a certificate without its key', doc({ user: `client-certificate-data: ${b64('C')}` }), /user "u" client-key is missing/],
    ['auth-provider', doc({ user: 'auth-provider: {name: oidc}' }), /user "u" auth-provider is not supported \(use an exec plugin\)/],
    ['impersonation', doc({ user: 'token: t, as: admin' }), /user "u" as is not supported/],
    ['a proxy', doc({ cluster: 'server: https://x, proxy-url: http://proxy:3128' }), /cluster "c" proxy-url is not supported/],
    ['an exec plugin of an unknown version', doc({ user: 'exec: {command: x, apiVersion: client.authentication.k8s.io/v1alpha1}' }), /exec.apiVersion must be/],
    ['a list that is not a list', 'clusters: 3\ncurrent-context: x\n', /clusters is not a list/],
    ['not YAML', 'a: [\n', /is not valid YAML \(line \d+\)/],
    ['a scalar', 'just text', /is not a YAML mapping/],
  ])('refuses %s, naming it', (_what, text, message) => {
    expect(() => parseKubeconfig(text, 'test')).toThrow(message);
  });

  it('never quotes a credential in its errors', () => {
    const secret = 'SUPER-SECRET-TOKEN';
    for (const text of [doc({ user: `token: ${secret}, as: x` }), `users: [{name: u, user: {token: ${secret}}}]\ncurrent-context: [\n`]) {
      try {
        parseKubeconfig(text, 'test');
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(KubeconfigError);
        expect(String(err)).not.toContain(secret);
      }
    }
  });
});

describe('loadDefaultKubeconfig', () => {
  it('merges $KUBECONFIG files: the first to name an entry or set current-context wins', () => {
    const a = path.join(dir, 'a.yaml');
    const b = path.join(dir, 'b.yaml');
    writeFileSync(a, 'clusters: [{name: c, cluster: {server: "https://first"}}]\ncurrent-context: ctx\n');
    writeFileSync(b, doc({ cluster: 'server: https://second', current: 'ignored' }));
    const c = loadDefaultKubeconfig({ KUBECONFIG: [a, path.join(dir, 'missing'), b].join(path.delimiter) });
    expect(c.server).toBe('https://first');
    expect(c.token).toBe('abc');
  });

  it('--kubeconfig (or KUBECONFIG through it) given a list merges it too', () => {
    const a = path.join(dir, 'flag-a.yaml');
    const b = path.join(dir, 'flag-b.yaml');
    writeFileSync(a, 'current-context: ctx\n');
    writeFileSync(b, doc({ cluster: 'server: https://from-b' }));
    expect(loadKubeConfig([a, b].join(path.delimiter)).server).toBe('https://from-b');
    expect(() => loadKubeConfig(path.join(dir, 'absent'))).toThrow(/^cannot load kubeconfig .*absent: ENOENT$/);
  });

  it('falls back to ~/.kube/config, then to the in-cluster service account', () => {
    const home = path.join(dir, 'home');
    mkdirSync(path.join(home, '.kube'), { recursive: true });
    writeFileSync(path.join(home, '.kube', 'config'), doc({ cluster: 'server: https://home' }));
    expect(loadDefaultKubeconfig({ HOME: home }).server).toBe('https://home');
    expect(() => loadDefaultKubeconfig({ HOME: path.join(dir, 'nohome') })).toThrow(/not running in a cluster/);
  });

  it('in a cluster: the service host, its CA and a token file read anew each time (tokens rotate)', async () => {
    const sa = path.join(dir, 'sa');
    mkdirSync(sa, { recursive: true });
    writeFileSync(path.join(sa, 'token'), 'first\n');
    writeFileSync(path.join(sa, 'ca.crt'), 'CLUSTER-CA');
    writeFileSync(path.join(sa, 'namespace'), 'kcp-system');
    const c = inClusterConfig({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, sa);
    expect(c.server).toBe('https://[fd00::1]:443');
    expect(c.caData?.toString()).toBe('CLUSTER-CA');
    expect(c.namespace).toBe('kcp-system');
    expect((await credentialsOf(c)).headers.Authorization).toBe('Bearer first');
    writeFileSync(path.join(sa, 'token'), 'rotated\n');
    expect((await credentialsOf(c)).headers.Authorization).toBe('Bearer rotated');
  });
});

describe('credentials', () => {
  it('basic auth', async () => {
    const c = parseKubeconfig(doc({ user: 'username: ada, password: lovelace' }), 'test');
    expect((await credentialsOf(c)).headers.Authorization).toBe(`Basic ${b64('ada:lovelace')}`);
  });

  it('runs an exec plugin with its args and env and KUBERNETES_EXEC_INFO, and keeps its expiry', async () => {
    const plugin = path.join(dir, 'plugin.sh');
    writeFileSync(
      plugin,
      `#!/bin/sh
case "$KUBERNETES_EXEC_INFO" in *'"server":"https://10.0.0.1:6443"'*) ;; *) exit 3;; esac
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s-%s","expirationTimestamp":"2030-01-01T00:00:00Z"}}' "$1" "$GREETING"
`,
    );
    chmodSync(plugin, 0o755);
    writeFileSync(
      path.join(dir, 'exec.yaml'),
      doc({ user: 'exec: {command: ./plugin.sh, args: [tok], env: [{name: GREETING, value: hi}], apiVersion: client.authentication.k8s.io/v1}' }),
    );
    const c = loadKubeconfigFile(path.join(dir, 'exec.yaml'));
    const creds = await credentialsOf(c);
    expect(creds.headers.Authorization).toBe('Bearer tok-hi');
    expect(creds.expiresAt).toBe(Date.parse('2030-01-01T00:00:00Z'));
  });

  it('says which plugin failed, not what it printed', async () => {
    const plugin = path.join(dir, 'bad.sh');
    writeFileSync(plugin, '#!/bin/sh\necho SECRET-OUTPUT\nexit 1\n');
    chmodSync(plugin, 0o755);
    const c = parseKubeconfig(doc({ user: `exec: {command: ${plugin}, apiVersion: client.authentication.k8s.io/v1beta1}` }), 'test');
    await expect(credentialsOf(c)).rejects.toThrow(/exec plugin .*bad.sh failed/);
    await expect(credentialsOf(c)).rejects.not.toThrow(/SECRET-OUTPUT/);
  });
});

describe('KubeClient with a RestConfig', () => {
  let server: http.Server | undefined;
  afterAll(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  it('sends the token the kubeconfig names', async () => {
    const seen: Array<string | undefined> = [];
    server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ metadata: { name: 'x' } }));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const c = parseKubeconfig(doc({ cluster: `server: http://127.0.0.1:${(server.address() as AddressInfo).port}`, user: 'token: t0k' }), 'test');
    const client = await KubeClient.fromKubeConfig(c, { qps: 0 });
    try {
      await client.get(ConfigMaps, 'ns', 'x');
    } finally {
      client.close();
    }
    expect(seen).toEqual(['Bearer t0k']);
  });
});
