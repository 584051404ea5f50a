// The Helm chart (deploy/helm/kcp-operator-ts) rendered with the helm that hack/build-binaries.sh
// built: what the chart's unit tests compare with deploy/ and the install test applies.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { binaryPath, repoRoot } from './binaries.js';

export const CHART_DIR = 'deploy/helm/kcp-operator-ts';

/** `helm template` for a release kcp-operator-ts in `namespace`, CRDs included; `set` are --set values. */
export function renderChart(namespace: string, set: readonly string[] = []): string {
  return execFileSync(
    binaryPath('helm'),
    ['template', 'kcp-operator-ts', path.join(repoRoot, CHART_DIR), '-n', namespace, '--include-crds', ...set.flatMap((s) => ['--set', s])],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 },
  );
}
