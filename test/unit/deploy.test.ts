// deploy/ stays in step with its sources of truth: the sidecar's RBAC with sync/rbac.ts, the CRD
// kustomization with the generated crds/, and the Deployment with what the processes expect.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { LEASE_RULES, LOCAL_RULES } from '../../sync/rbac.js';

const root = path.resolve(import.meta.dirname, '../..');
const docs = (file: string) =>
  parseAllDocuments(readFileSync(path.join(root, file), 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { name: string }; rules?: unknown[]; spec?: unknown });

describe('deploy/', () => {
  it('grants the sidecar exactly the rules sync/rbac.ts declares, writes only per namespace', () => {
    const sync = docs('deploy/base/rbac/sync.yaml');
    type R = { apiGroups: string[]; resources: string[]; verbs: string[] };
    const triples = (rules: R[]) =>
      rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}/${res}/${v}`)))).sort();
    const clusterRoles = sync.filter((d) => d.kind === 'ClusterRole').flatMap((d) => d.rules as R[]);
    expect(triples(clusterRoles)).toEqual(triples(LOCAL_RULES.map((r) => r.rule)));
    expect(sync.find((d) => d.kind === 'Role')?.rules).toEqual(LEASE_RULES.map((r) => r.rule));
    // The writer role is bound in the sidecar's own namespace only, never cluster-wide.
    const bindings = sync.filter((d) => d.kind === 'ClusterRoleBinding') as unknown as Array<{ roleRef: { name: string } }>;
    expect(bindings.map((b) => b.roleRef.name)).toEqual(['kcp-sync-reader']);
    const reader = sync.find((d) => d.metadata.name === 'kcp-sync-reader' && d.kind === 'ClusterRole') as unknown as { rules: R[] };
    expect(triples(reader.rules).filter((t) => /\/(create|update|delete|patch)$/.test(t) && !t.startsWith('events'))).toEqual([]);
  });

  it('lets the operator delete only ConfigMaps and Secrets (federation documents and keys) and its PodDisruptionBudgets, nothing else', () => {
    const role = docs('deploy/base/rbac/operator.yaml').find((d) => d.kind === 'ClusterRole') as { rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> };
    const deletes = role.rules.filter((r) => r.verbs.includes('delete') || r.verbs.includes('deletecollection'));
    expect(deletes.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.map((res) => `${g}/${res}`))).sort()).toEqual(['/configmaps', '/secrets', 'policy/poddisruptionbudgets']);
    expect([...new Set(deletes.flatMap((r) => r.verbs))]).toEqual(['delete']);
    expect(role.rules.flatMap((r) => r.verbs)).not.toContain('*');
  });

  it('lists every generated CRD in crds/Kustomization', () => {
    const k = parse(readFileSync(path.join(root, 'crds/Kustomization'), 'utf8')) as { resources: string[] };
    const files = readdirSync(path.join(root, 'crds')).filter((f) => f.startsWith('operator.kcp.io_') && f.endsWith('.yaml')).sort();
    expect([...k.resources].sort()).toEqual(files);
  });

  it('gives each container its own identity and a restricted security context', () => {
    const dep = docs('deploy/base/operator.yaml').find((d) => d.kind === 'Deployment') as {
      spec: { template: { spec: { automountServiceAccountToken: boolean; containers: Array<{ name: string; command: string[]; securityContext: Record<string, unknown>; resources: { requests: unknown; limits: unknown }; volumeMounts: Array<{ name: string; mountPath: string }> }> } } };
    };
    const pod = dep.spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    const [op, sync] = pod.containers;
    expect(op?.command).toEqual(['/nodejs/bin/node', 'dist/src/main.js']);
    expect(sync?.command).toEqual(['/nodejs/bin/node', 'dist/sync/main.js']);
    expect(op?.volumeMounts.find((m) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount')?.name).toBe('operator-token');
    expect(sync?.volumeMounts.find((m) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount')?.name).toBe('sync-token');
    for (const c of pod.containers) {
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
      expect(c.resources.requests).toBeDefined();
      expect(c.resources.limits).toBeDefined();
    }
  });
});
