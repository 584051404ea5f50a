// deploy/monitoring/ checked against the code: the PrometheusRule passes `promtool check rules` and
// its unit tests (`promtool test rules`, deploy/monitoring/prometheusrule.test.yaml); every alert
// follows kube-prometheus conventions and has a runbook; every metric an alert or a dashboard panel
// reads is one the processes export (found by scanning src/ and sync/ for metric definitions, plus
// prom-client's default metrics); the overlay renders the rule and the dashboard ConfigMap.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { binaryPath } from '../../local/binaries.js';
import { metricNames } from './promql.js';

const root = path.resolve(import.meta.dirname, '../..');
const read = (f: string) => readFileSync(path.join(root, f), 'utf8');
export const RUNBOOK_BASE = 'https://github.com/kcp-operator-ts/kcp-operator-ts/blob/main/docs/runbooks/';


interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rule = parse(read('deploy/monitoring/prometheusrule.yaml')) as { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; spec: { groups: Array<{ name: string; rules: Rule[] }> } };
const alerts = rule.spec.groups.flatMap((g) => g.rules).filter((r): r is Rule & { alert: string } => r.alert !== undefined);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

/** Metric names the operator and the sidecar can serve on /metrics. */
export async function exportedMetrics(): Promise<Set<string>> {
  const names = new Set<string>(['up']); // made by Prometheus for every target
  const add = (name: string, type: string) => {
    names.add(name);
    if (type === 'histogram' || type === 'Histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    if (type === 'summary' || type === 'Summary') for (const s of ['_sum', '_count']) names.add(name + s);
  };
  for (const f of [...sourceFiles(path.join(root, 'src')), ...sourceFiles(path.join(root, 'sync'))]) {
    for (const m of readFileSync(f, 'utf8').matchAll(/new (Counter|Gauge|Histogram|Summary)(?:<[^>]*>)?\(\{\s*name:\s*'([^']+)'/g)) add(m[2] ?? '', m[1] ?? '');
  }
  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults });
  for (const m of await defaults.getMetricsAsJSON()) add(m.name, String(m.type));
  return names;
}

const unknownIn = (exprs: readonly string[], exported: Set<string>): string[] =>
  [...new Set(exprs.flatMap(metricNames))].filter((n) => !exported.has(n)).sort();

function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`promtool not found (${r.error.message}); hack/ensure-tools.sh installs it (Debian package prometheus)`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('PrometheusRule (deploy/monitoring/prometheusrule.yaml)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'promrules-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // promtool reads plain rule files: the PrometheusRule's spec is one.
  writeFileSync(path.join(dir, 'prometheusrule.rules.yaml'), JSON.stringify(rule.spec));
  writeFileSync(path.join(dir, 'prometheusrule.test.yaml'), read('deploy/monitoring/prometheusrule.test.yaml'));

  it('is one monitoring.coreos.com/v1 PrometheusRule kcp-operator in kcp-operator-system', () => {
    expect([rule.apiVersion, rule.kind, rule.metadata.name, rule.metadata.namespace]).toEqual(['monitoring.coreos.com/v1', 'PrometheusRule', 'kcp-operator', 'kcp-operator-system']);
  });

  it('passes promtool check rules', () => {
    const r = promtool('check', 'rules', path.join(dir, 'prometheusrule.rules.yaml'));
    expect(r.output).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(r.status).toBe(0);
  });

  it('passes its promtool unit tests, which make every alert fire', () => {
    const r = promtool('test', 'rules', path.join(dir, 'prometheusrule.test.yaml'));
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
    const tests = (parse(read('deploy/monitoring/prometheusrule.test.yaml')) as { tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }> }).tests;
    const firing = new Set(tests.flatMap((t) => t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname));
    expect(alerts.map((a) => a.alert).filter((a) => !firing.has(a))).toEqual([]);
  });

  it('follows kube-prometheus conventions: CamelCase Kcp names, severity, summary, description, runbook_url', () => {
    for (const a of alerts) {
      expect(a.alert, a.alert).toMatch(/^Kcp([A-Z][a-z0-9]*|CA)+$/);
      expect(['warning', 'critical'], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      expect(a.annotations?.description, a.alert).toBeTruthy();
      expect(a.annotations?.runbook_url, a.alert).toBe(`${RUNBOOK_BASE}${a.alert.toLowerCase()}.md`);
    }
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
  });

  it('has a runbook per alert, listed in docs/runbooks/README.md, and no runbook without an alert', () => {
    const index = read('docs/runbooks/README.md');
    for (const a of alerts) {
      const file = `${a.alert.toLowerCase()}.md`;
      expect(existsSync(path.join(root, 'docs/runbooks', file)), file).toBe(true);
      expect(index, file).toContain(`(${file})`);
      const text = read(`docs/runbooks/${file}`);
      expect(text, file).toContain(`# ${a.alert}`);
      for (const section of ['## Meaning', '## Confirm', '## Fix']) expect(text, `${file}: ${section}`).toContain(section);
    }
    const files = readdirSync(path.join(root, 'docs/runbooks')).filter((f) => f !== 'README.md');
    expect(files.sort()).toEqual(alerts.map((a) => `${a.alert.toLowerCase()}.md`).sort());
  });

  it('reads only metrics the processes export', async () => {
    expect(unknownIn(alerts.map((a) => a.expr), await exportedMetrics())).toEqual([]);
  });
});

describe('Grafana dashboard (deploy/monitoring/grafana-dashboard.json)', () => {
  type Target = { expr: string; datasource: { uid: string } };
  type Panel = { id: number; type: string; title: string; datasource?: { uid: string }; targets?: Target[]; panels?: Panel[] };
  type Variable = { name: string; type: string; query: string | { query: string } };
  const dashboard = JSON.parse(read('deploy/monitoring/grafana-dashboard.json')) as { uid: string; title: string; panels: Panel[]; templating: { list: Variable[] } };
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  // label_values(<selector>, <label>): the selector names a metric; the label does not.
  const variableExprs = dashboard.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => (typeof v.query === 'string' ? v.query : v.query.query).replace(/^label_values\((.*),\s*\w+\)$/, '$1'));

  it('parses, with a datasource variable every query uses and unique panel ids', () => {
    expect(dashboard.uid).toBe('kcp-operator-ts');
    expect(dashboard.templating.list.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const p of panels.filter((x) => x.type !== 'row')) {
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.datasource.uid, p.title).toBe('${datasource}');
    }
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
  });

  it('shows what the issue asks for: reconciles, latency, queue depth, certificate expiry, availability, sync lag and errors, memory', () => {
    const read = new Set(exprs.flatMap(metricNames));
    for (const m of [
      'controller_runtime_reconcile_total',
      'controller_runtime_reconcile_time_seconds_bucket',
      'workqueue_depth',
      'kcp_operator_certificate_expiry_timestamp_seconds',
      'kcp_operator_component_available',
      'kcp_sync_replication_lag_seconds_bucket',
      'kcp_sync_errors_total',
      'process_resident_memory_bytes',
    ]) {
      expect(read, m).toContain(m);
    }
  });

  it('reads only metrics the processes export', async () => {
    const exported = await exportedMetrics();
    expect(unknownIn(exprs, exported)).toEqual([]);
    expect(unknownIn(variableExprs, exported)).toEqual([]);
  });
});

describe('the metric name check', () => {
  it('reports a metric nobody exports, and not functions, labels, keywords, numbers or variables', async () => {
    const exported = await exportedMetrics();
    expect(metricNames('histogram_quantile(0.99, sum by (cluster, le) (rate(kcp_sync_replication_lag_seconds_bucket{job="x", namespace=~"$namespace"}[$__rate_interval]))) > 1e3')).toEqual([
      'kcp_sync_replication_lag_seconds_bucket',
    ]);
    expect(metricNames('a - time() < 7 * 86400 and on (ns) b offset 5m unless ignoring (x) c')).toEqual(['a', 'b', 'c']);
    expect(unknownIn(['sum(rate(kcp_operator_bogus_total[5m])) / process_resident_memory_bytes'], exported)).toEqual(['kcp_operator_bogus_total']);
  });
});

describe('deploy/overlays/monitoring', () => {
  it('renders deploy/ with the ServiceMonitor, the PrometheusRule and the dashboard ConfigMap for the Grafana sidecar', () => {
    const kustomize = (dir: string) => execFileSync(binaryPath('kubectl'), ['kustomize', path.join(root, dir)], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const out = kustomize('deploy/overlays/monitoring');
    type Obj = { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; data?: Record<string, string>; spec?: unknown };
    const objs = parseAllDocuments(out).map((d) => d.toJS() as Obj);
    const base = parseAllDocuments(kustomize('deploy')).map((d) => d.toJS() as Obj);
    expect(objs.length).toBe(base.length + 3);
    expect(objs.find((o) => o.kind === 'PrometheusRule')?.spec).toEqual(rule.spec);
    expect(objs.find((o) => o.kind === 'ServiceMonitor')?.metadata.namespace).toBe('kcp-operator-system');
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kcp-operator-dashboard');
    expect(cm?.metadata).toMatchObject({ namespace: 'kcp-operator-system', labels: { grafana_dashboard: '1' } });
    expect(cm?.data?.['kcp-operator-ts.json']).toBe(read('deploy/monitoring/grafana-dashboard.json'));
  });
});
