// The operator's RBAC as deploy/ renders it, and what tests need to run the operator under it or
// under a copy missing one rule: the rules themselves (from `kubectl kustomize deploy/`, never a hand
// list), a stable name per rule, a ServiceAccount with a bound token, and the operator as a real
// process whose output is kept (for the assertions that it said what was forbidden, and the leak scan).
import { execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments, stringify, parse } from 'yaml';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { ServiceAccounts, type ResourceType } from '../../src/kube/resources.js';
import { binaryPath, repoRoot } from '../../local/binaries.js';
import { spawnEntry, type Entry } from '../../local/entry.js';

export const ClusterRoles: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false };
export const ClusterRoleBindings: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false };
export const Roles: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', namespaced: true };
export const RoleBindings: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true };

export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** deploy/'s names for the operator's roles. */
export const OPERATOR_CLUSTER_ROLE = 'kcp-operator-ts';
export const OPERATOR_LEASE_ROLE = 'kcp-operator-leader-election';

/** The operator's ClusterRole and leader-election Role rules, as `kubectl kustomize deploy/` renders them. */
export function renderedOperatorRules(): { cluster: Rule[]; lease: Rule[] } {
  const out = execFileSync(binaryPath('kubectl'), ['kustomize', path.join(repoRoot, 'deploy')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20, // the CRDs come with it
  });
  const docs = parseAllDocuments(out).map((d) => d.toJSON() as KubeObject & { rules?: Rule[] });
  const rules = (kind: string, name: string): Rule[] => {
    const o = docs.find((d) => d.kind === kind && d.metadata.name === name);
    if (!o?.rules) throw new Error(`deploy/ renders no ${kind} ${name}`);
    return o.rules.map((r) => ({ apiGroups: r.apiGroups, resources: r.resources, verbs: r.verbs }));
  };
  return { cluster: rules('ClusterRole', OPERATOR_CLUSTER_ROLE), lease: rules('Role', OPERATOR_LEASE_ROLE) };
}

/** A rule's name, e.g. `apps deployments: get,list,watch,create,patch` (the core group shows as `core`). */
export function ruleId(r: Rule): string {
  return `${r.apiGroups.map((g) => g || 'core').join(',')} ${r.resources.join(',')}: ${r.verbs.join(',')}`;
}

/** The rules without the one named `id`. */
export function withoutRule(rules: readonly Rule[], id: string): Rule[] {
  const left = rules.filter((r) => ruleId(r) !== id);
  if (left.length !== rules.length - 1) throw new Error(`no single rule ${id}`);
  return left;
}

/** The rules with one verb on one resource taken away (everything else they grant stays). */
export function withoutVerb(rules: readonly Rule[], group: string, resource: string, verb: string): Rule[] {
  const out = rules.flatMap((r) => {
    if (!r.apiGroups.includes(group) || !r.resources.includes(resource) || !r.verbs.includes(verb)) return [r];
    const rest = { ...r, resources: r.resources.filter((x) => x !== resource) };
    const reduced = { ...r, resources: [resource], verbs: r.verbs.filter((v) => v !== verb) };
    return [...(rest.resources.length ? [rest] : []), ...(reduced.verbs.length ? [reduced] : [])];
  });
  if (JSON.stringify(out) === JSON.stringify(rules)) throw new Error(`no rule grants ${verb} on ${group}/${resource}`);
  return out;
}

/**
 * A ServiceAccount `sa` in `namespace` holding `cluster` through a ClusterRole of its own (named
 * `roleName`) and `lease` through a Role in `namespace`, as deploy/ binds the operator's.
 */
export async function bindServiceAccount(admin: KubeClient, namespace: string, sa: string, roleName: string, rules: { cluster: Rule[]; lease: Rule[] }): Promise<void> {
  const rbac = 'rbac.authorization.k8s.io';
  const subjects = [{ kind: 'ServiceAccount', name: sa, namespace }];
  await admin.create(ServiceAccounts, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace } });
  await admin.create(ClusterRoles, { apiVersion: `${rbac}/v1`, kind: 'ClusterRole', metadata: { name: roleName }, rules: rules.cluster } as KubeObject);
  await admin.create(ClusterRoleBindings, { apiVersion: `${rbac}/v1`, kind: 'ClusterRoleBinding', metadata: { name: roleName }, roleRef: { apiGroup: rbac, kind: 'ClusterRole', name: roleName }, subjects } as KubeObject);
  await admin.create(Roles, { apiVersion: `${rbac}/v1`, kind: 'Role', metadata: { name: roleName, namespace }, rules: rules.lease } as KubeObject);
  await admin.create(RoleBindings, { apiVersion: `${rbac}/v1`, kind: 'RoleBinding', metadata: { name: roleName, namespace }, roleRef: { apiGroup: rbac, kind: 'Role', name: roleName }, subjects } as KubeObject);
}

/** Removes the ClusterRole and ClusterRoleBinding bindServiceAccount made (the rest goes with the namespace). */
export async function unbindServiceAccount(admin: KubeClient, roleName: string): Promise<void> {
  for (const r of [ClusterRoleBindings, ClusterRoles]) await admin.delete(r, undefined, roleName).catch(() => undefined);
}

/**
 * A copy of the kubeconfig at `adminKubeconfig` (same server and CA) that authenticates as
 * ServiceAccount `namespace/sa` with a bound token (TokenRequest API), which is what its Pod would hold.
 */
export async function tokenKubeconfig(admin: KubeClient, adminKubeconfig: string, namespace: string, sa: string, file: string): Promise<string> {
  const tr = await admin.request<{ status: { token: string } }>({
    method: 'POST',
    path: `/api/v1/namespaces/${namespace}/serviceaccounts/${sa}/token`,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  });
  const base = parse(readFileSync(adminKubeconfig, 'utf8')) as { clusters: Array<{ name: string; cluster: Record<string, unknown> }>; 'current-context': string; contexts: Array<{ name: string; context: { cluster: string } }> };
  const ctxCluster = base.contexts.find((c) => c.name === base['current-context'])?.context.cluster;
  const cluster = base.clusters.find((c) => c.name === ctxCluster) ?? base.clusters[0];
  if (!cluster) throw new Error(`${adminKubeconfig} names no cluster`);
  await writeFile(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: cluster.cluster }],
      users: [{ name: 'sa', user: { token: tr.status.token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'sa' } }],
      'current-context': 'c',
    }),
    { mode: 0o600 },
  );
  return file;
}

export interface OperatorProcess {
  child: ChildProcess;
  /** Everything it wrote, stdout and stderr (its logs are JSON lines on stdout). */
  output(): string;
  stop(): Promise<void>;
}

/** The operator (or the sidecar) as a real process with leader election, logging at warn (its JSON log lines go to stdout). */
export function runOperator(kubeconfig: string, port: number, entry: Entry = 'src/main.ts', extra: string[] = [], env: NodeJS.ProcessEnv = {}): OperatorProcess {
  const child = spawnEntry(entry, [`--kubeconfig=${kubeconfig}`, '--leader-elect', `--health-probe-bind-address=127.0.0.1:${port}`, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { POD_NAMESPACE: 'kcp-operator-system', LOG_LEVEL: 'warn', ...env },
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return {
    child,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}
