// Copies what the Helm chart shares with the rest of the repository into it (`make chart`), so
// nothing in deploy/helm/kcp-operator-ts/crds or files/ is edited by hand:
//   crds/operator.kcp.io_*.yaml              -> <chart>/crds/ (stale copies removed)
//   deploy/monitoring/prometheusrule.yaml    -> <chart>/files/prometheusrule.yaml
//   deploy/monitoring/servicemonitor.yaml    -> <chart>/files/servicemonitor.yaml
//   deploy/monitoring/grafana-dashboard.json -> <chart>/files/grafana-dashboard.json
// A monitoring source that does not exist (yet) leaves the chart's file alone.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { CHART_DIR } from '../local/chart.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CRD_PREFIX = 'operator.kcp.io_';
const MONITORING = ['prometheusrule.yaml', 'servicemonitor.yaml', 'grafana-dashboard.json'];

/** Each copy the chart holds, as repository-relative paths; `present` is false for a missing source. */
export function chartCopies(): Array<{ source: string; target: string; present: boolean }> {
  const crds = readdirSync(path.join(root, 'crds'))
    .filter((f) => f.startsWith(CRD_PREFIX) && f.endsWith('.yaml'))
    .sort()
    .map((f) => ({ source: `crds/${f}`, target: `${CHART_DIR}/crds/${f}` }));
  const monitoring = MONITORING.map((f) => ({ source: `deploy/monitoring/${f}`, target: `${CHART_DIR}/files/${f}` }));
  return [...crds, ...monitoring].map((c) => ({ ...c, present: existsSync(path.join(root, c.source)) }));
}

/** CRD files in the chart that no source backs any more (a renamed kind). */
export function staleChartCrds(): string[] {
  const wanted = new Set(chartCopies().map((c) => c.target));
  return readdirSync(path.join(root, CHART_DIR, 'crds'))
    .map((f) => `${CHART_DIR}/crds/${f}`)
    .filter((f) => !wanted.has(f));
}

function main(): void {
  mkdirSync(path.join(root, CHART_DIR, 'crds'), { recursive: true });
  mkdirSync(path.join(root, CHART_DIR, 'files'), { recursive: true });
  for (const c of chartCopies()) {
    if (!c.present) {
      console.log(`${c.source} does not exist: ${c.target} left as it is`);
      continue;
    }
    const to = path.join(root, c.target);
    if (existsSync(to) && readFileSync(to).equals(readFileSync(path.join(root, c.source)))) continue;
    copyFileSync(path.join(root, c.source), to);
    console.log(`wrote ${c.target}`);
  }
  for (const f of staleChartCrds()) {
    rmSync(path.join(root, f));
    console.log(`removed stale ${f}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
