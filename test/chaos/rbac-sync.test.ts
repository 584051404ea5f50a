// Issue 14, item 9, for the sync sidecar: least privilege under exactly deploy/'s sync RBAC.
// - The sidecar's identity cannot read a Secret in a namespace that nothing marked (SSAR, `kubectl
//   auth can-i`, and a real GET/LIST answered 403), even one labelled as a source, while marked
//   sources are replicated.
// - Every single PolicyRule of its roles (reader, writer, source, lease Role), enumerated from
//   deploy/base/rbac/sync.yaml, is removed in turn: each removal breaks something named, and the
//   sidecar says so in its log (naming the forbidden resource). A rule without a case fails the test.
// - Everything the run produced (process output, Events, annotations) is scanned for key material.
// Seen failing without its protections: with Secrets back in kcp-sync-reader (a cluster-wide read)
// the first test fails (the sidecar reads cluster-wide; the identity may read the unmarked
// namespace); without the engine's `unreadable` hook the kcp-sync-source case fails (the existing
// replica of the unreadable namespace's source is deleted as garbage).
// Stands in for a cluster: the shared kube-apiserver + etcd of the chaos tier; the sidecar runs as a
// local process (as its container would) with a bound token of deploy/'s kcp-sync ServiceAccount.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadKubeconfigFile } from '../../src/kube/kubeconfig.js';
import { parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps, Events, Namespaces, Secrets, type ResourceType } from '../../src/kube/resources.js';
import { binaryPath, repoRoot } from '../../local/binaries.js';
import { spawnEntry } from '../../local/entry.js';
import { eventually } from '../integration/helpers.js';
import { collectClusterTexts, collectPrivateKeys, findLeaks, type Text } from './leak-scan.js';

const NS = 'kcp-operator-system';
const SA = `system:serviceaccount:${NS}:kcp-sync`;
const P = 'sync.operator.kcp.io/';
const RBAC_FILE = path.join(repoRoot, 'deploy/base/rbac/sync.yaml');
const ClusterRoles: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false };
const Roles: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', namespaced: true };
const RoleBindings: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true };
type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
type Role = { kind: string; metadata: { name: string; namespace?: string }; rules?: Rule[] };

const ruleId = (role: string, r: Rule) => `${role}: ${r.resources.join(',')} ${r.verbs.join(',')}`;
const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
const suffix = seed.toString(36);

const kubectl = (kubeconfig: string, ...args: string[]) =>
  execFileSync(binaryPath('kubectl'), ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Runs kubectl, returning its output whether it exits 0 or not (`auth can-i` exits 1 for "no"). */
function kubectlAny(kubeconfig: string, ...args: string[]): string {
  try {
    return kubectl(kubeconfig, ...args);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

interface Sidecar {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

describe('sync sidecar under exactly deploy/ RBAC', () => {
  const adminKubeconfig = inject('kubeconfigPath');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rbac-sync-'));
  let admin: KubeClient;
  let saKubeconfig = '';
  let sa: KubeClient;
  const outputs: Text[] = [];
  const figures: string[] = [];
  const ns = { src: `src-${suffix}`, src2: `src2-${suffix}`, dst: `dst-${suffix}`, priv: `priv-${suffix}` };
  const keyPem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const roles = parseAllDocuments(readFileSync(RBAC_FILE, 'utf8'))
    .map((d) => d.toJS() as Role)
    .filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role');

  const secretSource = (namespace: string, name: string, to: string, extra: Record<string, string> = {}): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: { [`${P}enabled`]: 'true' }, annotations: { [`${P}to-namespaces`]: to } },
    data: { 'tls.key': b64(keyPem()), ...extra },
  });

  function startSidecar(label: string): Sidecar {
    const child = spawnEntry(
      'sync/main.ts',
      [`--kubeconfig=${saKubeconfig}`, `--namespace=${NS}`, '--leader-elect', `--leader-election-id=kcp-sync-${suffix}`, '--access-recheck=2s', '--resync-period=30s'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { POD_NAMESPACE: NS, LOG_LEVEL: 'info', HEALTH_PROBE_BIND_ADDRESS: '127.0.0.1:0' } },
    );
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    return {
      child,
      output: () => out,
      stop: () =>
        new Promise<void>((resolve) => {
          const done = () => {
            outputs.push({ source: `sidecar output (${label})`, text: out });
            resolve();
          };
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', done);
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
        }),
    };
  }

  const replica = async (namespace: string, name: string, r: ResourceType = Secrets) => {
    try {
      return await admin.get(r, namespace, name);
    } catch {
      return undefined;
    }
  };

  beforeAll(async () => {
    console.log(`rbac-sync: seed ${seed} (CHAOS_SEED overrides it)`);
    const kc = loadKubeconfigFile(adminKubeconfig);
    admin = await KubeClient.fromKubeConfig(kc, { userAgent: 'rbac-sync-test', qps: 0 });
    // deploy/'s namespace and the sidecar's RBAC, exactly as shipped.
    kubectl(adminKubeconfig, 'apply', '--server-side', '-n', NS, '-f', path.join(repoRoot, 'deploy/base/namespace.yaml'), '-f', RBAC_FILE);
    const tr = await admin.request<{ status: { token: string } }>({
      method: 'POST',
      path: `/api/v1/namespaces/${NS}/serviceaccounts/kcp-sync/token`,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
    });
    saKubeconfig = path.join(dir, 'kcp-sync.kubeconfig');
    writeFileSync(
      saKubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: kc.server, 'certificate-authority-data': kc.caData?.toString('base64') } }],
        users: [{ name: 'sa', user: { token: tr.status.token } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'sa' } }],
        'current-context': 'c',
      }),
      { mode: 0o600 },
    );
    const saKc = loadKubeconfigFile(saKubeconfig);
    sa = await KubeClient.fromKubeConfig(saKc, { userAgent: 'rbac-sync-as-sidecar', qps: 0 });

    const mk = (name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}) =>
      admin.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels, annotations } });
    const bind = (namespace: string, role: string) =>
      admin.create(RoleBindings, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: role, namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ kind: 'ServiceAccount', name: 'kcp-sync', namespace: NS }],
      } as KubeObject);
    // src: Secret sources, read only. src2: sources that also get the status annotation (writer).
    // dst: the destination. priv: nothing marked it; it holds a Secret labelled as a source anyway.
    await mk(ns.src, { [`${P}sources`]: 'true' });
    await bind(ns.src, 'kcp-sync-source');
    await mk(ns.src2, { [`${P}sources`]: 'true' });
    await bind(ns.src2, 'kcp-sync-writer');
    await mk(ns.dst, { [`${P}accept`]: 'true' }, { [`${P}accept-from`]: `${ns.src}/*, ${ns.src2}/*, ${ns.priv}/*` });
    await bind(ns.dst, 'kcp-sync-writer');
    await mk(ns.priv);
    await admin.create(Secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'private', namespace: ns.priv }, data: { 'tls.key': b64(keyPem()) } });
    await admin.create(Secrets, secretSource(ns.priv, 'unmarked-ns', ns.dst));
  });

  afterAll(async () => {
    // Restore deploy/'s RBAC as shipped, then remove what this file made.
    kubectlAny(adminKubeconfig, 'apply', '--server-side', '--force-conflicts', '-n', NS, '-f', RBAC_FILE);
    for (const n of Object.values(ns)) await admin?.delete(Namespaces, undefined, n).catch(() => undefined);
    sa?.close();
    admin?.close();
    if (figures.length > 0) console.log(figures.join('\n'));
  });

  it('cannot read a Secret in a namespace nothing marked, while marked sources replicate', async () => {
    const t0 = Date.now();
    await admin.create(Secrets, secretSource(ns.src, 'shared', ns.dst));
    await admin.create(Secrets, secretSource(ns.src2, 'with-status', ns.dst));
    await admin.create(ConfigMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'bundle', namespace: ns.src, labels: { [`${P}enabled`]: 'true' }, annotations: { [`${P}to-namespaces`]: ns.dst } },
      data: { 'ca.crt': 'bundle' },
    });
    const side = startSidecar('baseline');
    try {
      await eventually('Secret source replicated', () => replica(ns.dst, 'shared'), 60_000);
      await eventually('ConfigMap source replicated', () => replica(ns.dst, 'bundle', ConfigMaps), 30_000);
      await eventually('status annotation on a source in a writer-bound namespace', async () => (await replica(ns.src2, 'with-status'))?.metadata.annotations?.[`${P}status`], 30_000);
      figures.push(`- baseline: marked sources replicated ${((Date.now() - t0) / 1000).toFixed(1)} s after the sidecar started`);
      expect(side.output()).toMatch(new RegExp(`"namespace":"${ns.src}".*may read Secrets`));

      // The identity itself: asked (SSAR through kubectl auth can-i) and tried for real.
      for (const verb of ['get', 'list', 'watch']) {
        expect(kubectlAny(adminKubeconfig, 'auth', 'can-i', verb, 'secrets', '-n', ns.priv, `--as=${SA}`).trim(), `${verb} in ${ns.priv}`).toBe('no');
        expect(kubectlAny(adminKubeconfig, 'auth', 'can-i', verb, 'secrets', '--all-namespaces', `--as=${SA}`).trim(), `${verb} cluster-wide`).toBe('no');
        expect(kubectlAny(adminKubeconfig, 'auth', 'can-i', verb, 'secrets', '-n', ns.src, `--as=${SA}`).trim(), `${verb} in ${ns.src}`).toBe('yes');
      }
      await expect(sa.get(Secrets, ns.priv, 'private')).rejects.toThrow(/forbidden/);
      await expect(sa.list(Secrets, { namespace: ns.priv })).rejects.toThrow(/forbidden/);
      await expect(sa.list(Secrets, {})).rejects.toThrow(/forbidden/);
      // The labelled Secret in the unmarked namespace was never replicated: the sidecar never saw it.
      expect(await replica(ns.dst, 'unmarked-ns')).toBeUndefined();
      expect(side.output()).not.toContain(`"namespace":"${ns.priv}"`);
    } finally {
      await side.stop();
    }
  });

  interface Case {
    /** What breaks, named. */
    breaks: string;
    /** What the sidecar says (its log names the forbidden resource). */
    says: RegExp;
    /** Creates this case's fresh objects. */
    prepare: (tag: string) => Promise<void>;
    /** True once the named thing is visibly broken (checked after the message). */
    broken: (tag: string) => Promise<boolean>;
  }

  const freshSecret = (tag: string, namespace = ns.src) => admin.create(Secrets, secretSource(namespace, `s-${tag}`, ns.dst));
  const notReplicated = async (tag: string) => (await replica(ns.dst, `s-${tag}`)) === undefined;
  const forbidden = (verb: string, resource: string) => new RegExp(`cannot ${verb} resource \\\\?"${resource}\\\\?"`);

  const cases: Record<string, Case> = {
    'kcp-sync-reader: configmaps get,list,watch': {
      breaks: 'ConfigMap sources are not replicated (the caches never sync, so nothing is)',
      says: forbidden('(list|watch)', 'configmaps'),
      prepare: async (tag) => {
        await admin.create(ConfigMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c-${tag}`, namespace: ns.src, labels: { [`${P}enabled`]: 'true' }, annotations: { [`${P}to-namespaces`]: ns.dst } }, data: { a: 'b' } });
      },
      broken: async (tag) => (await replica(ns.dst, `c-${tag}`, ConfigMaps)) === undefined,
    },
    'kcp-sync-reader: namespaces get,list,watch': {
      breaks: 'no consent is visible, so nothing is replicated',
      says: forbidden('(list|watch)', 'namespaces'),
      prepare: (tag) => freshSecret(tag).then(() => undefined),
      broken: notReplicated,
    },
    'kcp-sync-reader: events create': {
      breaks: 'a conflict is not reported as an Event (replication itself goes on)',
      says: forbidden('create', 'events'),
      prepare: async (tag) => {
        // A foreign Secret holds the destination name: a conflict, which is reported as an Event.
        await admin.create(Secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: `x-${tag}`, namespace: ns.dst }, data: { a: b64('foreign') } });
        await admin.create(Secrets, secretSource(ns.src, `x-${tag}`, ns.dst));
        await freshSecret(tag);
      },
      broken: async (tag) => {
        if (await notReplicated(tag)) return false; // it must be running, and replicating
        const events = (await admin.list(Events, { namespace: ns.src })).items as Array<KubeObject & { regarding?: { name?: string } }>;
        return !events.some((e) => e.regarding?.name === `x-${tag}`);
      },
    },
    'kcp-sync-writer: secrets get,list,watch': {
      breaks: 'neither registrations nor replicas can be watched, so nothing is replicated',
      says: forbidden('(list|watch)', 'secrets'),
      prepare: (tag) => freshSecret(tag).then(() => undefined),
      broken: notReplicated,
    },
    'kcp-sync-writer: configmaps,secrets create,update,delete': {
      breaks: 'no replica can be created in the destination',
      says: forbidden('create', 'secrets'),
      prepare: (tag) => freshSecret(tag).then(() => undefined),
      broken: notReplicated,
    },
    'kcp-sync-writer: configmaps,secrets patch': {
      breaks: 'no status annotation on sources (replication itself goes on)',
      // Only the writer-bound namespace: sources in src (read-only binding) never get a status.
      says: new RegExp(`${forbidden('patch', 'secrets').source}[^\\n]*in the namespace \\\\?"${ns.src2}`),
      prepare: (tag) => freshSecret(tag, ns.src2).then(() => undefined),
      broken: async (tag) => {
        if (await notReplicated(tag)) return false;
        return (await replica(ns.src2, `s-${tag}`))?.metadata.annotations?.[`${P}status`] === undefined;
      },
    },
    'kcp-sync-source: secrets get,list,watch': {
      breaks: 'the marked source namespace cannot be read, so its new Secret sources are not replicated (existing replicas are kept: unknown is not deleted)',
      says: new RegExp(`${ns.src} is marked as a sync source .* may not list/watch secrets`),
      prepare: (tag) => freshSecret(tag).then(() => undefined),
      broken: async (tag) => (await notReplicated(tag)) && (await replica(ns.dst, 'shared')) !== undefined,
    },
    'kcp-sync: leases get,create,update': {
      breaks: 'it never leads, so nothing is replicated',
      says: forbidden('(get|create|update)', 'leases'),
      prepare: (tag) => freshSecret(tag).then(() => undefined),
      broken: notReplicated,
    },
  };

  it('has a case for every rule of deploy/\'s sync roles, and no case without a rule', () => {
    const ids = roles.flatMap((r) => (r.rules ?? []).map((rule) => ruleId(r.metadata.name, rule)));
    expect(ids.length).toBeGreaterThan(0);
    expect([...ids].sort()).toEqual(Object.keys(cases).sort());
  });

  const all = roles.flatMap((role) => (role.rules ?? []).map((rule, index) => ({ role, rule, index, id: ruleId(role.metadata.name, rule) })));
  it.each(all.map((x) => [x.id, x] as const))('without %s', async (_id, { role, index, id }) => {
    const c = cases[id];
    expect(c, `no case for ${id}`).toBeDefined();
    if (!c) return;
    const tag = randomBytes(3).toString('hex');
    const r = role.kind === 'Role' ? Roles : ClusterRoles;
    const namespace = role.kind === 'Role' ? NS : undefined;
    const obj = (rules: Rule[]) => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: role.kind, metadata: { name: role.metadata.name, namespace }, rules }) as KubeObject;
    const full = role.rules ?? [];
    await admin.apply(r, obj(full.filter((_, i) => i !== index)), 'rbac-sync-test');
    const t0 = Date.now();
    const side = startSidecar(id);
    try {
      await c.prepare(tag);
      await eventually(`the sidecar names the forbidden resource (${c.says.source})`, () => c.says.test(side.output()), 60_000);
      const said = Date.now() - t0;
      // Broken, and still broken a little later (no eventual recovery hides behind the message).
      await eventually(`broken: ${c.breaks}`, () => c.broken(tag), 30_000);
      await new Promise((res) => setTimeout(res, 2_000));
      expect(await c.broken(tag), c.breaks).toBe(true);
      figures.push(`- without \`${id}\`: ${c.breaks}; named in the log after ${(said / 1000).toFixed(1)} s`);
    } finally {
      await side.stop();
      await admin.apply(r, obj(full), 'rbac-sync-test');
    }
  });

  it('leaks no private key into any output, Event or annotation', async () => {
    const namespaces = [...Object.values(ns), NS];
    const keys = await collectPrivateKeys(admin, namespaces);
    const texts = [...outputs, ...(await collectClusterTexts(admin, [...namespaces, 'default']))];
    const leaks = findLeaks(texts, keys);
    const line = `- leak scan: ${texts.length} texts (${outputs.length} process outputs, ${Math.round(outputs.reduce((n, o) => n + o.text.length, 0) / 1024)} KiB) against ${keys.length} private keys: ${leaks.length} leaks`;
    console.log(line);
    figures.push(line);
    expect(keys.length).toBeGreaterThan(0);
    expect(leaks).toEqual([]);
  });
});
