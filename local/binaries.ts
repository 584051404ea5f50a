// Where hack/build-binaries.sh put the test binaries, read from hack/versions.env.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export type BinaryName = 'etcd' | 'kube-apiserver' | 'kubectl' | 'kcp' | 'kcp-front-proxy' | 'cache-server' | 'virtual-workspaces' | 'helm';

const COMPONENT: Record<BinaryName, { component: string; versionKey: string }> = {
  etcd: { component: 'etcd', versionKey: 'ETCD_VERSION' },
  'kube-apiserver': { component: 'kubernetes', versionKey: 'KUBERNETES_VERSION' },
  kubectl: { component: 'kubernetes', versionKey: 'KUBERNETES_VERSION' },
  kcp: { component: 'kcp', versionKey: 'KCP_VERSION' },
  'kcp-front-proxy': { component: 'kcp', versionKey: 'KCP_VERSION' },
  'cache-server': { component: 'kcp', versionKey: 'KCP_VERSION' },
  // kcp's standalone virtual-workspace server: what a VirtualWorkspace runs as `/virtual-workspaces`.
  'virtual-workspaces': { component: 'kcp', versionKey: 'KCP_VERSION' },
  // Renders and lints the chart in deploy/helm (tests only).
  helm: { component: 'helm', versionKey: 'HELM_VERSION' },
};

let versionsCache: Record<string, string> | undefined;

export function versions(): Record<string, string> {
  if (versionsCache) return versionsCache;
  const out: Record<string, string> = {};
  for (const line of readFileSync(path.join(repoRoot, 'hack/versions.env'), 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m && m[1] && m[2] !== undefined) out[m[1]] = m[2];
  }
  return (versionsCache = out);
}

let binCache: string | undefined;

export function binDir(): string {
  if (binCache) return binCache;
  binCache =
    process.env.BIN_CACHE ||
    execFileSync(path.join(repoRoot, 'hack/build-binaries.sh'), ['--print-dir'], { encoding: 'utf8' }).trim();
  return binCache;
}

function componentDir(name: BinaryName): string {
  const { component, versionKey } = COMPONENT[name];
  const version = versions()[versionKey];
  if (!version) throw new Error(`hack/versions.env has no ${versionKey}`);
  return path.join(binDir(), `${component}-${version}`);
}

export function binaryPath(name: BinaryName): string {
  const p = path.join(componentDir(name), name);
  if (!existsSync(p)) {
    const marker = `${componentDir(name)}.unavailable`;
    const why = existsSync(marker) ? ` (the last build failed: ${readFileSync(marker, 'utf8').trim().split('\n')[0]})` : '';
    throw new Error(`${name} is not built (${p})${why}; run \`make binaries\` (hack/build-binaries.sh; the README's "Test binaries" lists the ways to supply kcp)`);
  }
  return p;
}
