// A kcp user as the e2e tests play one: the kubeconfig the operator generated (a Kubeconfig's
// Secret), the real kubectl, and the front-proxy reached through a port-forward to its Service.
// The harness stands in for what a cluster would give a user: the forward plays the Service's
// LoadBalancer, and `tls-server-name` plays DNS for the public host name (the server certificate
// is still checked against that name and the installation's CA).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { KubeObject } from '../../src/kube/object.js';
import { Secrets } from '../../src/kube/resources.js';
import { forwardedKubeconfig, kubeconfigText, type KubeconfigFile } from '../../local/forwarded-kubeconfig.js';
import type { LocalStack } from '../../local/stack.js';
import { runKubectl, type KubectlResult } from '../integration/kubectl.js';

export class KcpUser {
  private constructor(
    readonly kubeconfigPath: string,
    /** https://127.0.0.1:<forward port>: the front-proxy, without a workspace path. */
    readonly base: string,
    private readonly config: KubeconfigFile,
  ) {}

  /**
   * The user of a generated kubeconfig Secret, pointed at `localPort` (a forward to the
   * front-proxy Service); everything else in the file is used as the operator wrote it.
   */
  static async fromSecret(stack: LocalStack, secretName: string, localPort: number, file = secretName): Promise<KcpUser> {
    const secret = await stack.admin.get(Secrets, stack.namespace, secretName);
    const text = Buffer.from(((secret.data as Record<string, string>)?.kubeconfig ?? ''), 'base64').toString();
    const config = forwardedKubeconfig(text, localPort);
    const base = `https://127.0.0.1:${localPort}`;
    const out = path.join(stack.logDir, `${file}.kubeconfig`);
    writeFileSync(out, kubeconfigText(config), { mode: 0o600 });
    return new KcpUser(out, base, config);
  }

  /** The same cluster settings with a bearer token instead of the client certificate. */
  withToken(token: string, name: string): KcpUser {
    const config: KubeconfigFile = {
      ...this.config,
      users: [{ name: 'token', user: { token } }],
      contexts: this.config.contexts.map((c) => ({ ...c, context: { ...c.context, user: 'token' } })),
    };
    const out = path.join(path.dirname(this.kubeconfigPath), `${name}.kubeconfig`);
    writeFileSync(out, kubeconfigText(config), { mode: 0o600 });
    return new KcpUser(out, this.base, config);
  }

  /** kubectl in a workspace (`root`, `root:team-a`, ...). */
  kubectl(workspace: string, args: string[], input?: string): Promise<KubectlResult> {
    // client-go forgets the kubeconfig's tls-server-name once --server overrides the address.
    const serverName = this.config.clusters[0]?.cluster['tls-server-name'];
    const tls = serverName ? [`--tls-server-name=${serverName}`] : [];
    return runKubectl(this.kubeconfigPath, ['--server', `${this.base}/clusters/${workspace}`, ...tls, '--request-timeout=20s', ...args], input);
  }

  /** `kubectl get --raw` of a path below the front-proxy itself (not a workspace), e.g. a /services/ URL. */
  raw(pathBelowServer: string): Promise<KubectlResult> {
    const serverName = this.config.clusters[0]?.cluster['tls-server-name'];
    const tls = serverName ? [`--tls-server-name=${serverName}`] : [];
    return runKubectl(this.kubeconfigPath, ['--server', this.base, ...tls, '--request-timeout=20s', 'get', '--raw', pathBelowServer]);
  }

  /** kubectl that must succeed; its stdout. */
  async must(workspace: string, args: string[], input?: string): Promise<string> {
    const r = await this.kubectl(workspace, args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} in ${workspace}: exit ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  async createWorkspace(parent: string, name: string, shard?: string): Promise<void> {
    const ws: KubeObject = {
      apiVersion: 'tenancy.kcp.io/v1alpha1',
      kind: 'Workspace',
      metadata: { name },
      spec: shard ? { location: { selector: { matchLabels: { name: shard } } } } : {},
    };
    await this.must(parent, ['create', '-f', '-'], JSON.stringify(ws));
  }

  async workspace(parent: string, name: string): Promise<KubeObject & { spec: { URL?: string; cluster?: string }; status?: { phase?: string } }> {
    return JSON.parse(await this.must(parent, ['get', 'workspace', name, '-o', 'json'])) as KubeObject & { spec: { URL?: string }; status?: { phase?: string } };
  }
}
