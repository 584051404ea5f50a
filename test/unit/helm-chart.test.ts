// The Helm chart (deploy/helm/kcp-operator-ts) against deploy/: with default values `helm template`
// renders exactly the objects `kubectl kustomize deploy/` renders (every field), sync.writeScope=
// cluster exactly deploy/overlays/sync-cluster-wide, and each value changes what it says. Runs the
// real helm (built from the Go module proxy) and kubectl's built-in kustomize.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { binaryPath, repoRoot } from '../../local/binaries.js';
import { CHART_DIR, renderChart as renderText } from '../../local/chart.js';
import { chartCopies, staleChartCrds } from '../../hack/gen-chart.js';

const chart = path.join(repoRoot, CHART_DIR);
const NS = 'kcp-operator-system';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: unknown };
type Container = { name: string; image: string; imagePullPolicy?: string; args: string[]; resources: unknown };
type PodSpec = { containers: Container[]; imagePullSecrets?: unknown; nodeSelector?: unknown; tolerations?: unknown; affinity?: unknown };

const parseDocs = (text: string): Obj[] => parseAllDocuments(text).map((d) => d.toJS() as Obj | null).filter((o): o is Obj => o !== null);
const key = (o: Obj) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const byKey = (objs: Obj[]) => new Map(objs.map((o) => [key(o), o]));

function helm(...args: string[]): string {
  return execFileSync(binaryPath('helm'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `helm template` as an install into kcp-operator-system would render it, CRDs included. */
const renderChart = (...set: string[]): Obj[] => parseDocs(renderText(NS, set));

const kustomize = (dir: string): Obj[] => parseDocs(execFileSync(binaryPath('kubectl'), ['kustomize', path.join(repoRoot, dir)], { encoding: 'utf8', maxBuffer: 64 << 20 }));

const deployment = (objs: Obj[]) => (objs.find((o) => o.kind === 'Deployment') as unknown as { spec: { replicas: number; template: { spec: PodSpec } } }).spec;
const container = (objs: Obj[], name: string) => deployment(objs).template.spec.containers.find((c) => c.name === name) as Container;

/** Every object both sides render, compared in full; the key sets first, so a missing object names itself. */
function expectSameObjects(rendered: Obj[], reference: Obj[]): void {
  const a = byKey(rendered);
  const b = byKey(reference);
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [k, o] of b) expect(a.get(k), k).toEqual(o);
}

describe('the Helm chart', () => {
  it('passes helm lint --strict, with default values and with every option on', () => {
    expect(helm('lint', '--strict', chart)).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    const all = ['monitoring.prometheusRule.enabled=true', 'monitoring.serviceMonitor.enabled=true', 'monitoring.dashboard.enabled=true', 'sync.writeScope=cluster', 'logLevel=debug', 'leaderElection.namespace=leases'];
    expect(helm('lint', '--strict', chart, ...all.flatMap((s) => ['--set', s]))).toMatch(/0 chart\(s\) failed/);
  });

  it('renders exactly what `kubectl kustomize deploy/` renders, with default values', () => {
    const rendered = renderChart();
    expectSameObjects(rendered, kustomize('deploy'));
    // Not vacuous: the namespace, the CRDs, both identities, the writer binding, the workload.
    expect(rendered.map(key)).toEqual(expect.arrayContaining([
      'Namespace//kcp-operator-system',
      'CustomResourceDefinition//rootshards.operator.kcp.io',
      'ServiceAccount/kcp-operator-system/kcp-sync',
      'RoleBinding/kcp-operator-system/kcp-sync-writer',
      'Deployment/kcp-operator-system/kcp-operator',
      'Service/kcp-operator-system/kcp-operator-metrics',
    ]));
  }, 60_000);

  it('renders exactly deploy/overlays/sync-cluster-wide with sync.writeScope=cluster', () => {
    expectSameObjects(renderChart('sync.writeScope=cluster'), kustomize('deploy/overlays/sync-cluster-wide'));
  }, 60_000);

  it('runs the image deploy/ pins: repository and appVersion are the kustomization\'s image', () => {
    const k = parse(readFileSync(path.join(repoRoot, 'deploy/base/kustomization.yaml'), 'utf8')) as { images: Array<{ newName: string; newTag: string }> };
    const c = parse(readFileSync(path.join(chart, 'Chart.yaml'), 'utf8')) as { appVersion: string };
    const v = parse(readFileSync(path.join(chart, 'values.yaml'), 'utf8')) as { image: { repository: string } };
    expect(c.appVersion).toBe(k.images[0]?.newTag);
    expect(v.image.repository).toBe(k.images[0]?.newName);
  });

  it('sets image, pull policy and pull secrets on both containers', () => {
    const objs = renderChart('image.repository=registry.example/kcp-op', 'image.tag=v9.9.9', 'image.pullPolicy=Always', 'image.pullSecrets={regcred}');
    for (const name of ['operator', 'sync']) {
      expect(container(objs, name).image).toBe('registry.example/kcp-op:v9.9.9');
      expect(container(objs, name).imagePullPolicy).toBe('Always');
    }
    expect(deployment(objs).template.spec.imagePullSecrets).toEqual([{ name: 'regcred' }]);
  });

  it('passes the log level to both processes', () => {
    const objs = renderChart('logLevel=debug');
    expect(container(objs, 'operator').args).toContain('--log-level=debug');
    expect(container(objs, 'sync').args).toContain('--log-level=debug');
    expect(() => renderChart('logLevel=loud')).toThrow(/logLevel/);
  });

  it('sets each container\'s resources', () => {
    const objs = renderChart('operator.resources.limits.memory=1Gi', 'sync.resources.requests.cpu=10m');
    expect(container(objs, 'operator').resources).toEqual({ requests: { cpu: '100m', memory: '192Mi' }, limits: { cpu: '1', memory: '1Gi' } });
    expect(container(objs, 'sync').resources).toEqual({ requests: { cpu: '10m', memory: '160Mi' }, limits: { cpu: '1', memory: '512Mi' } });
  });

  it('turns leader election off: no flag, no Lease rights, and only with one replica', () => {
    const objs = renderChart('leaderElection.enabled=false', 'replicas=1');
    expect(container(objs, 'operator').args).not.toContain('--leader-elect');
    expect(container(objs, 'sync').args).not.toContain('--leader-elect');
    expect(deployment(objs).replicas).toBe(1);
    expect(objs.filter((o) => o.kind === 'Role').map(key)).toEqual([]);
    expect(() => renderChart('leaderElection.enabled=false')).toThrow(/replicas: 1/);
  });

  it('moves the operator\'s Lease, and the Role that lets it take it, to leaderElection.namespace', () => {
    const objs = renderChart('leaderElection.namespace=leases');
    expect(container(objs, 'operator').args).toContain('--leader-election-namespace=leases');
    expect(container(objs, 'sync').args).not.toContain('--leader-election-namespace=leases');
    const keys = objs.map(key);
    expect(keys).toEqual(expect.arrayContaining(['Role/leases/kcp-operator-leader-election', 'RoleBinding/leases/kcp-operator-leader-election', 'Role/kcp-operator-system/kcp-sync']));
    expect(keys).not.toContain('Role/kcp-operator-system/kcp-operator-leader-election');
  });

  it('binds the sync writer in each of sync.writerNamespaces, and nowhere cluster-wide', () => {
    const objs = renderChart('sync.writerNamespaces={team-a,team-b}');
    const writers = objs.filter((o) => o.kind.endsWith('Binding') && (o as unknown as { roleRef: { name: string } }).roleRef.name === 'kcp-sync-writer');
    expect(writers.map(key).sort()).toEqual(['RoleBinding/kcp-operator-system/kcp-sync-writer', 'RoleBinding/team-a/kcp-sync-writer', 'RoleBinding/team-b/kcp-sync-writer']);
    for (const w of writers) expect((w as unknown as { subjects: unknown }).subjects).toEqual([{ kind: 'ServiceAccount', name: 'kcp-sync', namespace: NS }]);
    expect(() => renderChart('sync.writeScope=everywhere')).toThrow(/writeScope/);
  });

  it('binds the read-only source role in each of sync.sourceNamespaces, and never grants a cluster-wide Secret read', () => {
    const roleRefOf = (o: unknown) => (o as { roleRef: { name: string } }).roleRef.name;
    const objs = renderChart('sync.sourceNamespaces={apps,platform}');
    const sources = objs.filter((o) => o.kind.endsWith('Binding') && roleRefOf(o) === 'kcp-sync-source');
    expect(sources.map(key).sort()).toEqual(['RoleBinding/apps/kcp-sync-source', 'RoleBinding/platform/kcp-sync-source']);
    for (const b of sources) expect((b as unknown as { subjects: unknown }).subjects).toEqual([{ kind: 'ServiceAccount', name: 'kcp-sync', namespace: NS }]);
    // Cluster-wide, the sidecar is bound to the reader only, and the reader holds no Secret rule.
    const clusterWide = objs.filter((o) => o.kind === 'ClusterRoleBinding' && (o as unknown as { subjects: Array<{ name: string }> }).subjects.some((s) => s.name === 'kcp-sync'));
    expect(clusterWide.map(roleRefOf)).toEqual(['kcp-sync-reader']);
    const reader = objs.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'kcp-sync-reader') as unknown as { rules: Array<{ resources: string[] }> };
    expect(reader.rules.flatMap((r) => r.resources)).not.toContain('secrets');
  });

  it('places the Pod with nodeSelector, tolerations and affinity', () => {
    const objs = renderChart('nodeSelector.role=infra', 'tolerations[0].key=infra', 'tolerations[0].operator=Exists', 'affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight=1', 'affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[0].key=infra', 'affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[0].operator=Exists');
    const pod = deployment(objs).template.spec;
    expect(pod.nodeSelector).toEqual({ role: 'infra' });
    expect(pod.tolerations).toEqual([{ key: 'infra', operator: 'Exists' }]);
    expect(pod.affinity).toMatchObject({ nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1 }] } });
  });

  it('renders the PrometheusRule and the dashboard ConfigMap only when asked, from the chart\'s files', () => {
    expect(renderChart().filter((o) => o.kind === 'PrometheusRule' || o.kind === 'ConfigMap')).toEqual([]);
    const objs = renderChart('monitoring.prometheusRule.enabled=true', 'monitoring.dashboard.enabled=true', 'monitoring.prometheusRule.labels.release=kps');
    const rule = objs.find((o) => o.kind === 'PrometheusRule');
    const source = parse(readFileSync(path.join(chart, 'files/prometheusrule.yaml'), 'utf8')) as Obj;
    expect(rule).toEqual({ ...source, metadata: { ...source.metadata, namespace: NS, labels: { ...source.metadata.labels, release: 'kps' } } });
    expect(rule?.metadata.name).toBe('kcp-operator');
    const cm = objs.find((o) => o.kind === 'ConfigMap') as Obj & { data: Record<string, string> };
    expect(cm.metadata).toMatchObject({ namespace: NS, labels: { grafana_dashboard: '1' } });
    expect(JSON.parse(cm.data['kcp-operator-ts.json'] ?? '')).toEqual(JSON.parse(readFileSync(path.join(chart, 'files/grafana-dashboard.json'), 'utf8')));
  });

  it('with every monitoring value on, renders exactly what `kubectl kustomize deploy/overlays/monitoring` renders', () => {
    const rendered = renderChart('monitoring.prometheusRule.enabled=true', 'monitoring.serviceMonitor.enabled=true', 'monitoring.dashboard.enabled=true');
    expectSameObjects(rendered, kustomize('deploy/overlays/monitoring'));
    expect(rendered.map((o) => o.kind)).toEqual(expect.arrayContaining(['PrometheusRule', 'ServiceMonitor', 'ConfigMap']));
  });

  it('documents every value in the chart\'s README', () => {
    const readme = readFileSync(path.join(chart, 'README.md'), 'utf8');
    const documented = new Set([...readme.matchAll(/^\|([^|]*)\|/gm)].flatMap((m) => [...(m[1] ?? '').matchAll(/`([\w.]+)`/g)].map((n) => n[1])));
    // A value counts as documented when it or an object above it has a row (resources are one row).
    const leaves = (o: unknown, prefix: string): string[] =>
      o !== null && typeof o === 'object' && !Array.isArray(o) && Object.keys(o).length > 0
        ? Object.entries(o).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k))
        : [prefix];
    const values = parse(readFileSync(path.join(chart, 'values.yaml'), 'utf8')) as unknown;
    const undocumented = leaves(values, '').filter((p) => !p.split('.').some((_, i, parts) => documented.has(parts.slice(0, i + 1).join('.'))));
    expect(undocumented).toEqual([]);
  });

  it('holds copies equal to their sources (crds/, deploy/monitoring/), and no stale CRD', () => {
    const copies = chartCopies();
    expect(copies.filter((c) => c.source.startsWith('crds/')).length).toBe(readdirSync(path.join(repoRoot, 'crds')).filter((f) => f.endsWith('.yaml')).length);
    for (const c of copies.filter((x) => x.present)) {
      expect(readFileSync(path.join(repoRoot, c.target), 'utf8'), `${c.target} differs from ${c.source}: run make chart`).toBe(readFileSync(path.join(repoRoot, c.source), 'utf8'));
    }
    expect(staleChartCrds()).toEqual([]);
  });
});

