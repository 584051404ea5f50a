// `make dev`: the embedded default. A local control plane, the operator and the sync sidecar under
// deploy/'s RBAC, the pod runner, and config/samples (etcd, RootShard, Shard, FrontProxy, an admin
// Kubeconfig) with real kcp Pods. Prints a kubeconfig that reaches kcp through the front-proxy from
// the user's shell; Ctrl-C removes everything it started.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Secrets } from '../src/kube/resources.js';
import { binaryPath, repoRoot } from './binaries.js';
import { forwardedKubeconfig, kubeconfigText } from './forwarded-kubeconfig.js';
import { isPortFree } from './ports.js';
import { LocalStack } from './stack.js';

const execFileAsync = promisify(execFile);
const NAMESPACE = 'default';
const SAMPLES = path.join(repoRoot, 'config/samples');
const KINDS = ['rootshard/root', 'shard/shard-2', 'frontproxy/front-proxy', 'kubeconfig/kcp-admin'];
const FRONT_PROXY = { service: 'front-proxy-front-proxy', port: 6443 };
const ADMIN_SECRET = 'kcp-admin-kubeconfig';

class DevError extends Error {}

/** Everything that would fail later with an obscure message, checked first with a clear one. */
async function preflight(port: number): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new DevError(
      'make dev runs kcp as Pods in network and mount namespaces of its own, which needs root. ' +
        'Run it as root (sudo -E make dev), or, with Docker, use a kind cluster instead: make kind-e2e (hack/kind-e2e.sh).',
    );
  }
  for (const tool of ['ip', 'unshare', 'mount']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new DevError(`make dev needs '${tool}' (iproute2, util-linux); make tools (hack/ensure-tools.sh) installs it.`);
    }
  }
  for (const b of ['etcd', 'kube-apiserver', 'kubectl', 'kcp', 'kcp-front-proxy'] as const) {
    try {
      binaryPath(b);
    } catch (err) {
      throw new DevError(`${(err as Error).message}\n(make dev builds them first; this needs Go on PATH: https://go.dev/dl/)`);
    }
  }
  if (!(await isPortFree(port))) {
    throw new DevError(`port ${port} on 127.0.0.1 is in use (another make dev?). Stop that, or pick another port: KCP_DEV_PORT=<port> make dev`);
  }
}

export async function runDev(): Promise<void> {
  const t0 = Date.now();
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  const port = Number(process.env.KCP_DEV_PORT || FRONT_PROXY.port);
  await preflight(port);

  const stack = await LocalStack.start({ name: 'dev', namespace: NAMESPACE, sidecar: true, logLevel: process.env.LOG_LEVEL ?? 'info' });
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping: operator, sidecar, kcp Pods, control plane ...');
    await forward?.close().catch(() => undefined);
    await stack.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  let forward: { port: number; close(): Promise<void> } | undefined;

  try {
    console.log(`control plane, operator and sidecar up (${elapsed()}); logs in ${stack.logDir}`);
    await stack.apply({ files: [SAMPLES] });
    console.log(`applied ${path.relative(process.cwd(), SAMPLES) || SAMPLES}; waiting for kcp to boot (the root shard first, then shard-2 and the front-proxy)`);
    const progress = setInterval(async () => {
      const out = await stack.kubectl(['-n', NAMESPACE, 'get', 'rootshards,shards,frontproxies,kubeconfigs', '--no-headers', '-o', 'custom-columns=KIND:.kind,NAME:.metadata.name,PHASE:.status.phase']);
      console.log(`  ${elapsed()}: ${out.trim().split('\n').map((l) => l.trim().replace(/\s+/g, ' ')).join(' | ')}`);
    }, 10_000);
    try {
      await stack.kubectl(['-n', NAMESPACE, 'wait', '--for=condition=Available', '--timeout=900s', ...KINDS]);
    } finally {
      clearInterval(progress);
    }

    forward = await stack.runner.forward(FRONT_PROXY.service, FRONT_PROXY.port, port);
    const secret = await stack.admin.get(Secrets, NAMESPACE, ADMIN_SECRET);
    const text = Buffer.from((secret.data as Record<string, string>).kubeconfig ?? '', 'base64').toString();
    const dir = path.join(repoRoot, '.dev');
    mkdirSync(dir, { recursive: true });
    const kcpKubeconfig = path.join(dir, 'kcp-admin.kubeconfig');
    writeFileSync(kcpKubeconfig, kubeconfigText(forwardedKubeconfig(text, forward.port)), { mode: 0o600 });
    const clusterKubeconfig = path.join(dir, 'cluster.kubeconfig');
    writeFileSync(clusterKubeconfig, await stack.kubectl(['config', 'view', '--raw']), { mode: 0o600 });

    // The first request a user would make, timed: workspaces through the front-proxy.
    const kubectl = binaryPath('kubectl');
    await execFileAsync(kubectl, ['--kubeconfig', kcpKubeconfig, 'get', 'workspaces']);
    const ready = elapsed();
    const rel = (p: string) => path.relative(process.cwd(), p) || p;
    console.log(`
kcp is up: the first \`kubectl get workspaces\` through the front-proxy answered ${ready} after make dev started.

  kcp (through the front-proxy, port-forwarded to 127.0.0.1:${forward.port}):
    export KUBECONFIG=${rel(kcpKubeconfig)}
    ${kubectl} get workspaces
    echo '{"apiVersion":"tenancy.kcp.io/v1alpha1","kind":"Workspace","metadata":{"name":"team-a"}}' | ${kubectl} create -f -

  the local cluster the operator runs against (RootShard, Shard, FrontProxy, Kubeconfig, Pods' Deployments):
    ${kubectl} --kubeconfig ${rel(clusterKubeconfig)} get rootshards,shards,frontproxies,kubeconfigs,deployments
  operator: http://127.0.0.1:${stack.operatorProbePort}/metrics   sidecar: http://127.0.0.1:${stack.sidecarProbePort}/metrics
  logs: ${stack.logDir} (operator.log, sync.log); each Pod's log: its container.log in the pod runner's directory

Ctrl-C stops everything and removes what make dev started.`);
    stack.operator?.wait().then((code) => {
      if (!stopping) {
        console.error(`the operator exited (${code}); see ${path.join(stack.logDir, 'operator.log')}. Stopping.`);
        void stop(1);
      }
    });
  } catch (err) {
    console.error(`make dev: ${(err as Error).message}`);
    console.error(`operator log: ${path.join(stack.logDir, 'operator.log')}`);
    await stop(1);
  }
}

export async function main(): Promise<void> {
  try {
    await runDev();
  } catch (err) {
    if (err instanceof DevError) {
      console.error(`make dev: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
}
