// deploy/ stays in step with its sources of truth: the sidecar's RBAC with sync/rbac.ts, the CRD
// kustomization with the generated crds/, and the Deployment with what the processes expect.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { LEASE_RULES, READER_RULES, SOURCE_RULES, WRITER_RULES } from '../../sync/rbac.js';
import { SIDECAR_NODE_FLAGS } from '../../sync/node-flags.js';

const root = path.resolve(import.meta.dirname, '../..');
const docs = (file: string) =>
  parseAllDocuments(readFileSync(path.join(root, file), 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { name: string }; rules?: unknown[]; spec?: unknown });

describe('deploy/', () => {
  it('grants the sidecar exactly the rules sync/rbac.ts declares, writes only per namespace', () => {
    const sync = docs('deploy/base/rbac/sync.yaml');
    type R = { apiGroups: string[]; resources: string[]; verbs: string[] };
    const triples = (rules: R[]) =>
      rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}/${res}/${v}`)))).sort();
    const role = (name: string) => (sync.find((d) => d.kind === 'ClusterRole' && d.metadata.name === name)?.rules ?? []) as R[];
    expect(role('kcp-sync-reader')).toEqual(READER_RULES.map((r) => r.rule));
    expect(role('kcp-sync-writer')).toEqual(WRITER_RULES.map((r) => r.rule));
    expect(role('kcp-sync-source')).toEqual(SOURCE_RULES.map((r) => r.rule));
    expect(sync.filter((d) => d.kind === 'ClusterRole').map((d) => d.metadata.name).sort()).toEqual(['kcp-sync-reader', 'kcp-sync-source', 'kcp-sync-writer']);
    expect(sync.find((d) => d.kind === 'Role')?.rules).toEqual(LEASE_RULES.map((r) => r.rule));
    // Only the reader is bound cluster-wide, and it neither writes nor reads Secrets (RBAC cannot
    // filter by label: a cluster-wide Secret read would expose every Secret of the cluster).
    const bindings = sync.filter((d) => d.kind === 'ClusterRoleBinding') as unknown as Array<{ roleRef: { name: string } }>;
    expect(bindings.map((b) => b.roleRef.name)).toEqual(['kcp-sync-reader']);
    expect(triples(role('kcp-sync-reader')).filter((t) => /\/(create|update|delete|patch)$/.test(t) && !t.startsWith('events'))).toEqual([]);
    expect(triples(role('kcp-sync-reader')).filter((t) => t.startsWith('/secrets/'))).toEqual([]);
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
    expect(sync?.command).toEqual(['/nodejs/bin/node', ...SIDECAR_NODE_FLAGS, 'dist/sync/main.js']);
    expect(op?.volumeMounts.find((m) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount')?.name).toBe('operator-token');
    expect(sync?.volumeMounts.find((m) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount')?.name).toBe('sync-token');
    for (const c of pod.containers) {
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
      expect(c.resources.requests).toBeDefined();
      expect(c.resources.limits).toBeDefined();
    }
  });
});
