// deploy/ installs server-side (dry run and for real), and the operator runs under the
// ServiceAccount with exactly deploy/'s RBAC: a topology converges (that every single rule is needed
// is test/chaos/rbac-operator.test.ts). Runs on its own control plane (it installs cluster-wide RBAC).
// The Helm chart gets the same treatment on a second control plane: rendered with `helm template`,
// applied server-side, the standard topology converges under the chart's ServiceAccount and RBAC.
// No kubelet runs the installed Deployment: the operator runs as a local process with the token of
// the installed ServiceAccount, which is what the Pod would hold.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrontProxies, Kubeconfigs, RootShards, Shards } from '../../src/controllers/context.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Deployments, Namespaces, PodDisruptionBudgets, Secrets, type ResourceType } from '../../src/kube/resources.js';
import { binaryPath, repoRoot } from '../../local/binaries.js';
import { CHART_DIR, renderChart } from '../../local/chart.js';
import { startControlPlane, type ControlPlane } from '../../local/control-plane.js';
import { serviceAccountKubeconfig } from '../../local/install.js';
import { freePort } from '../../local/ports.js';
import { builtInPkiRootShard, fixture } from './fixtures.js';
import { eventually } from './helpers.js';
import { ClusterRoles, runOperator, type Rule } from './rbac-fixtures.js';

const NS = 'kcp-operator-system';

function kubectl(cp: ControlPlane, ...args: string[]): string {
  return execFileSync(binaryPath('kubectl'), ['--kubeconfig', cp.kubeconfigPath, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Waits until every CRD is Established. */
function waitForCrds(cp: ControlPlane): void {
  // kubectl wait errors out ("accessor error") while a new CRD has no conditions yet: retry that.
  for (let i = 0; ; i++) {
    try {
      kubectl(cp, 'wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all');
      return;
    } catch (err) {
      if (i >= 50 || !/accessor error/.test(String((err as { stderr?: string }).stderr ?? err))) throw err;
      execFileSync('sleep', ['0.1']);
    }
  }
}

const topology = (ns: string): KubeObject[] => [
  {
    apiVersion: 'operator.kcp.io/v1alpha1',
    kind: 'RootShard',
    metadata: { name: 'root', namespace: ns },
    spec: { external: { hostname: 'kcp.example.com', port: 6443 }, cache: {}, etcd: { endpoints: ['http://etcd:2379'] } },
  },
  {
    apiVersion: 'operator.kcp.io/v1alpha1',
    kind: 'Shard',
    metadata: { name: 's1', namespace: ns },
    spec: { rootShard: { ref: { name: 'root' } }, etcd: { endpoints: ['http://etcd-s1:2379'] } },
  },
];

describe('install (deploy/)', () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  beforeAll(async () => {
    cp = await startControlPlane({ name: 'install', crds: false });
    admin = await cp.client('install-test');
  });
  afterAll(async () => {
    admin?.close();
    await cp?.stop();
  });

  it('applies server-side, as a dry run and for real', () => {
    // A server-side dry run cannot create the namespace it then puts objects into, so the
    // namespace goes first (as `kubectl apply` users do with a fresh namespace).
    kubectl(cp, 'apply', '--server-side', '-f', path.join(repoRoot, 'deploy/base/namespace.yaml'));
    const dry = kubectl(cp, 'apply', '--server-side', '--dry-run=server', '-k', path.join(repoRoot, 'deploy'));
    expect(dry).toMatch(/deployment\.apps\/kcp-operator serverside-applied \(server dry run\)/);
    expect(() => kubectl(cp, 'get', 'crd', 'rootshards.operator.kcp.io')).toThrow(); // nothing was written
    const real = kubectl(cp, 'apply', '--server-side', '-k', path.join(repoRoot, 'deploy'));
    expect(real).toMatch(/clusterrole\.rbac\.authorization\.k8s\.io\/kcp-operator-ts serverside-applied/);
    waitForCrds(cp);
    const dep = JSON.parse(kubectl(cp, 'get', '-n', NS, 'deployment', 'kcp-operator', '-o', 'json')) as { spec: { template: { spec: { containers: Array<{ name: string }> } } } };
    expect(dep.spec.template.spec.containers.map((c) => c.name)).toEqual(['operator', 'sync']);
  });

  it('runs the operator under its ServiceAccount with exactly deploy/\'s RBAC, and a topology converges', async () => {
    const kubeconfig = await serviceAccountKubeconfig(cp, admin, 'kcp-operator');
    const whoami = JSON.parse(execFileSync(binaryPath('kubectl'), ['--kubeconfig', kubeconfig, 'auth', 'whoami', '-o', 'json'], { encoding: 'utf8' })) as { status: { userInfo: { username: string } } };
    expect(whoami.status.userInfo.username).toBe(`system:serviceaccount:${NS}:kcp-operator`);
    await admin.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'topo' } });
    const op = runOperator(kubeconfig, await freePort());
    try {
      for (const o of topology('topo')) await admin.create(o.kind === 'RootShard' ? RootShards : Shards, o);
      await eventually('converged', async () => {
        await admin.get(Deployments, 'topo', 'root-kcp');
        await admin.get(Deployments, 'topo', 's1-shard-kcp');
        // Two replicas each (the schema default): each gets its PodDisruptionBudget.
        await admin.get(PodDisruptionBudgets, 'topo', 'root-kcp');
        await admin.get(PodDisruptionBudgets, 'topo', 's1-shard-kcp');
        const rs = await admin.get(RootShards, 'topo', 'root');
        return (rs.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions?.some((c) => c.type === 'CertificatesReady' && c.status === 'True');
      }, 60_000);
      expect(op.output()).not.toMatch(/forbidden/i);
    } finally {
      await op.stop();
    }
  });

  it('runs the sync sidecar under its own ServiceAccount: it writes only where a namespace bound kcp-sync-writer', async () => {
    const RoleBindings: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true };
    const ns = (name: string, labels?: Record<string, string>, annotations?: Record<string, string>) =>
      admin.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels, annotations } });
    // A namespace with Secret sources is marked and binds the read-only source role: deploy/ grants
    // no cluster-wide Secret read.
    await ns('src', { 'sync.operator.kcp.io/sources': 'true' });
    await admin.create(RoleBindings, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'kcp-sync-source', namespace: 'src' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kcp-sync-source' },
      subjects: [{ kind: 'ServiceAccount', name: 'kcp-sync', namespace: NS }],
    } as KubeObject);
    const accept = { 'sync.operator.kcp.io/accept': 'true' };
    const from = { 'sync.operator.kcp.io/accept-from': 'src/shared' };
    await ns('dst', accept, from);
    await ns('dst-unbound', accept, from);
    await admin.create(RoleBindings, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'kcp-sync-writer', namespace: 'dst' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kcp-sync-writer' },
      subjects: [{ kind: 'ServiceAccount', name: 'kcp-sync', namespace: NS }],
    } as KubeObject);
    await admin.create(Secrets, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'shared',
        namespace: 'src',
        labels: { 'sync.operator.kcp.io/enabled': 'true' },
        annotations: { 'sync.operator.kcp.io/to-namespaces': 'dst,dst-unbound' },
      },
      data: { 'ca.crt': Buffer.from('bundle').toString('base64') },
    });
    const sidecar = runOperator(await serviceAccountKubeconfig(cp, admin, 'kcp-sync'), await freePort(), 'sync/main.ts', [`--namespace=${NS}`]);
    try {
      const replica = await eventually('replica in dst', () => admin.get(Secrets, 'dst', 'shared'), 30_000);
      expect(Buffer.from((replica.data as Record<string, string>)['ca.crt'] ?? '', 'base64').toString()).toBe('bundle');
      // Accepted by annotation but no RoleBinding: the sidecar is not allowed to write there.
      await new Promise((r) => setTimeout(r, 2000));
      await expect(admin.get(Secrets, 'dst-unbound', 'shared')).rejects.toThrow(/not found/);
    } finally {
      await sidecar.stop();
    }
  });
  it('sidecar without namespaces list/watch: it cannot see consent, so nothing is replicated', async () => {
    const reader = (await admin.get(ClusterRoles, undefined, 'kcp-sync-reader')) as KubeObject & { rules: Rule[] };
    const strip = (rules: Rule[]) => ({ apiVersion: reader.apiVersion, kind: reader.kind, metadata: { name: 'kcp-sync-reader' }, rules });
    await admin.apply(ClusterRoles, strip(reader.rules.filter((r) => !r.resources.includes('namespaces'))), 'install-test');
    await admin.create(Secrets, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'second', namespace: 'src', labels: { 'sync.operator.kcp.io/enabled': 'true' }, annotations: { 'sync.operator.kcp.io/to-namespaces': 'dst' } },
      data: { a: Buffer.from('b').toString('base64') },
    });
    await admin.patch(Namespaces, undefined, 'dst', { metadata: { annotations: { 'sync.operator.kcp.io/accept-from': 'src/shared,src/second' } } }, 'merge');
    const sidecar = runOperator(await serviceAccountKubeconfig(cp, admin, 'kcp-sync'), await freePort(), 'sync/main.ts', [`--namespace=${NS}`]);
    try {
      await new Promise((r) => setTimeout(r, 6000));
      await expect(admin.get(Secrets, 'dst', 'second')).rejects.toThrow(/not found/);
      // Give the rule back: the same sidecar recovers by itself, so the rule was the only cause.
      await admin.apply(ClusterRoles, strip(reader.rules), 'install-test');
      await eventually('replica after the rule is back', () => admin.get(Secrets, 'dst', 'second'), 45_000);
    } finally {
      await sidecar.stop();
      await admin.apply(ClusterRoles, strip(reader.rules), 'install-test');
    }
  });
});

describe('install (the Helm chart)', () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  beforeAll(async () => {
    cp = await startControlPlane({ name: 'install-helm', crds: false });
    admin = await cp.client('install-helm-test');
  });
  afterAll(async () => {
    admin?.close();
    await cp?.stop();
  });

  it('applies the rendered chart server-side; the standard topology converges under the chart\'s ServiceAccount and RBAC', async () => {
    // `helm template | kubectl apply --server-side -f -`, the namespace and CRDs included; nothing
    // from deploy/ is applied to this control plane, so every right the operator has is the chart's.
    const applied = execFileSync(binaryPath('kubectl'), ['--kubeconfig', cp.kubeconfigPath, 'apply', '--server-side', '-f', '-'], {
      input: renderChart(NS),
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    expect(applied).toMatch(/namespace\/kcp-operator-system serverside-applied/);
    expect(applied).toMatch(/clusterrole\.rbac\.authorization\.k8s\.io\/kcp-operator-ts serverside-applied/);
    expect(applied).toMatch(/deployment\.apps\/kcp-operator serverside-applied/);
    waitForCrds(cp);

    const ns = 'topo';
    await admin.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const op = runOperator(await serviceAccountKubeconfig(cp, admin, 'kcp-operator'), await freePort());
    try {
      // kcp-operator's samples: RootShard (built-in PKI), Shard, FrontProxy, the admin Kubeconfig.
      await admin.create(RootShards, builtInPkiRootShard(ns));
      await admin.create(Shards, fixture('operator.kcp.io_v1alpha1_shard.yaml', ns));
      await admin.create(FrontProxies, fixture('operator.kcp.io_v1alpha1_frontproxy.yaml', ns));
      await admin.create(Kubeconfigs, fixture('operator.kcp.io_v1alpha1_kubeconfig.yaml', ns));
      await eventually('standard topology converged', async () => {
        for (const d of ['shard-sample-kcp', 'secondary-shard-shard-kcp', 'frontproxy-sample-front-proxy']) await admin.get(Deployments, ns, d);
        for (const s of ['shard-sample-ca', 'secondary-shard-server', 'shard-sample-frontproxy-sample-server', 'sample-kubeconfig']) await admin.get(Secrets, ns, s);
        const kc = await admin.get(Kubeconfigs, ns, 'kubeconfig-kcp-admin');
        const rs = await admin.get(RootShards, ns, 'shard-sample');
        const certs = (rs.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions?.find((c) => c.type === 'CertificatesReady');
        return (kc.status as { phase?: string } | undefined)?.phase === 'Ready' && certs?.status === 'True';
      }, 60_000);
      expect(op.output()).not.toMatch(/forbidden/i);
    } finally {
      await op.stop();
    }
  });

  it('installs with `helm install` as the README says (Helm creates the namespace, the chart does not)', async () => {
    // A control plane of its own: a release's objects must not exist beforehand.
    const fresh = await startControlPlane({ name: 'install-helm-release', crds: false });
    try {
      const helm = (...args: string[]) =>
        execFileSync(binaryPath('helm'), ['--kubeconfig', fresh.kubeconfigPath, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const chart = path.join(repoRoot, CHART_DIR);
      expect(helm('install', 'kcp-operator-ts', chart, '-n', NS, '--create-namespace', '--set', 'namespace.create=false')).toMatch(/STATUS: deployed/);
      const names = execFileSync(binaryPath('kubectl'), ['--kubeconfig', fresh.kubeconfigPath, 'get', '-n', NS, 'crd,sa,clusterrole,rolebinding,deployment,service', '-o', 'name'], { encoding: 'utf8' });
      for (const n of ['customresourcedefinition.apiextensions.k8s.io/rootshards.operator.kcp.io', 'serviceaccount/kcp-sync', 'clusterrole.rbac.authorization.k8s.io/kcp-operator-ts', 'rolebinding.rbac.authorization.k8s.io/kcp-sync-writer', 'deployment.apps/kcp-operator', 'service/kcp-operator-metrics']) {
        expect(names).toContain(n);
      }
      // An upgrade changes what the values say, in place.
      helm('upgrade', 'kcp-operator-ts', chart, '-n', NS, '--set', 'namespace.create=false', '--set', 'logLevel=debug');
      const args = execFileSync(binaryPath('kubectl'), ['--kubeconfig', fresh.kubeconfigPath, 'get', '-n', NS, 'deployment', 'kcp-operator', '-o', 'jsonpath={.spec.template.spec.containers[0].args}'], { encoding: 'utf8' });
      expect(JSON.parse(args)).toContain('--log-level=debug');
    } finally {
      await fresh.stop();
    }
  });
});
