// The RootShard's internal proxy against a real kcp-operator v0.9.0 capture
// (shared/fixtures/migration): the objects a later migration updates in place must have the same
// names, selector, container, flags, mounts, Service port and certificate identities. The capture
// was taken with the RootShard `root` rendered for namespace bench-0 (its URLs and SANs say so),
// so that is the namespace rendered here.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { RootShardProxySpec, RootShardSpec } from '../../api/rootshard.js';
import type { KubeObject } from '../../kube/object.js';
import { frontProxyCertificates } from '../../pki/hierarchy.js';
import { kcpEndpoint } from '../../controllers/kcp-client.js';
import { selectorLabels } from '../common/labels.js';
import { pathMappingConfigMap } from '../frontproxy/config.js';
import { frontProxyArgs, frontProxyDeployment, frontProxyMounts, frontProxyService } from '../frontproxy/deployment.js';
import { frontProxyNames } from '../frontproxy/model.js';
import { frontProxySecrets } from '../frontproxy/secrets.js';
import { rootShardProxyModel, rootShardProxyName, rootShardProxyURL } from './model.js';

const capture = path.resolve(import.meta.dirname, '../../../../shared/fixtures/migration/kcp-operator-v0.9.0-standard-topology.yaml');
const objects: KubeObject[] = parseAllDocuments(readFileSync(capture, 'utf8')).flatMap((d) => {
  const o = d.toJS() as (KubeObject & { items?: KubeObject[] }) | null;
  return o ? (o.items ?? [o]) : [];
});
const find = (kind: string, name: string): KubeObject => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind} ${name} not in the capture`);
  return o;
};
const rsObj = find('RootShard', 'root');
const NS = 'bench-0';

const model = (proxy?: RootShardProxySpec, root: Partial<RootShardSpec> = {}) =>
  rootShardProxyModel({
    owner: { apiVersion: 'operator.kcp.io/v1alpha1', kind: 'RootShard', metadata: { name: 'root', namespace: NS, uid: 'u1' } },
    name: 'root',
    namespace: NS,
    spec: { ...(rsObj.spec as RootShardSpec), ...root, ...(proxy ? { proxy } : {}) },
  });

type Container = {
  name: string;
  command: string[];
  args: string[];
  ports: Array<{ name: string; containerPort: number }>;
  volumeMounts: Array<{ name: string; mountPath: string }>;
  readinessProbe?: { httpGet: { path: string; port: string; scheme: string } };
  livenessProbe?: { httpGet: { path: string; port: string; scheme: string } };
  resources?: unknown;
};
type PodSpec = { containers: Container[]; volumes: Array<{ name: string; secret?: { secretName: string }; configMap?: { name: string } }> };
type DeploymentSpec = { replicas?: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
const depSpec = (d: KubeObject) => d.spec as DeploymentSpec;
/** mountPath → the Secret or ConfigMap mounted there. */
const sources = (spec: PodSpec) => {
  const c = spec.containers[0] as Container;
  return Object.fromEntries(
    c.volumeMounts.map((vm) => {
      const v = spec.volumes.find((x) => x.name === vm.name);
      return [vm.mountPath, v?.secret?.secretName ?? v?.configMap?.name];
    }),
  );
};

describe('the internal root-shard proxy (kcp-operator v0.9.0 capture)', () => {
  const m = model();
  const theirs = find('Deployment', 'root-proxy');
  const ours = frontProxyDeployment(m, 'h');

  it('has the Deployment, container, selector and replicas kcp-operator renders', () => {
    expect(ours.metadata.name).toBe('root-proxy');
    // Selector labels are common/labels.ts's (the same for every component); each of ours is in
    // kcp-operator's, which also has managed-by (aligned for every kind by the selector work).
    expect(depSpec(ours).selector.matchLabels).toEqual(selectorLabels('root', 'rootshard-proxy'));
    expect(depSpec(theirs).selector.matchLabels).toMatchObject(depSpec(ours).selector.matchLabels);
    expect(depSpec(ours).template.metadata.labels).toMatchObject(depSpec(theirs).selector.matchLabels);
    expect(depSpec(ours).replicas).toBe(2);
    const [c, t] = [depSpec(ours).template.spec.containers[0] as Container, depSpec(theirs).template.spec.containers[0] as Container];
    expect(c.name).toBe(t.name);
    expect(c.command).toEqual(t.command);
    expect(c.ports).toEqual(t.ports.map((p) => expect.objectContaining({ name: p.name, containerPort: p.containerPort })));
    expect(c.readinessProbe?.httpGet).toMatchObject(t.readinessProbe?.httpGet ?? {});
    expect(c.livenessProbe?.httpGet).toMatchObject(t.livenessProbe?.httpGet ?? {});
  });

  it('passes the same flags, with identity kcp-root-shard-proxy', () => {
    const t = (depSpec(theirs).template.spec.containers[0] as Container).args;
    expect([...frontProxyArgs(m)].sort()).toEqual([...t].sort());
    expect(frontProxyArgs(m)).toContain('--requestheader-allowed-names=kcp-root-shard-proxy,kcp-mounts-proxy');
  });

  it('mounts the same Secrets and ConfigMap at the same paths (CA volumes carry only the certificate)', () => {
    expect(sources(depSpec(ours).template.spec)).toEqual(sources(depSpec(theirs).template.spec));
    const cas = frontProxyMounts(m).filter((x) => ['root-ca', 'root-requestheader-client-ca'].includes(x.secretName ?? ''));
    expect(cas.map((x) => x.items?.join())).toEqual(['tls.crt', 'tls.crt']);
  });

  it('has the Service kcp-operator renders: same name, selector and port', () => {
    const svc = frontProxyService(m);
    const t = find('Service', 'root-proxy');
    expect(svc.metadata.name).toBe('root-proxy');
    expect(svc.metadata.labels).toEqual(t.metadata.labels);
    const [s, ts] = [svc.spec as { selector: unknown; ports: unknown[] }, t.spec as { selector: unknown; ports: Array<Record<string, unknown>> }];
    expect(s.selector).toEqual(depSpec(ours).selector.matchLabels);
    expect(ts.selector).toMatchObject(s.selector as Record<string, string>);
    expect(s.ports).toEqual(ts.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort, protocol: p.protocol, appProtocol: p.appProtocol })));
  });

  it('renders the same path mapping and dynamic kubeconfig', () => {
    const cm = pathMappingConfigMap(m);
    const tcm = find('ConfigMap', 'root-proxy-config');
    expect(cm.metadata.name).toBe('root-proxy-config');
    expect(cm.metadata.labels).toEqual(tcm.metadata.labels);
    const file = 'path-mapping.yaml';
    expect(parse((cm.data as Record<string, string>)[file] ?? '')).toEqual(parse((tcm.data as Record<string, string>)[file] ?? ''));

    const secrets = frontProxySecrets(m, { rootCA: 'R', serverCA: 'S', clientCA: 'C', extraCABundles: [], extraClientCAs: [] });
    const names = secrets.map((s) => s.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['root-proxy-dynamic-kubeconfig', 'root-proxy-merged-client-ca']));
    const decode = (s: KubeObject | undefined, k: string) => Buffer.from((s?.data as Record<string, string> | undefined)?.[k] ?? '', 'base64').toString();
    const kubeconfig = (s: KubeObject | undefined) => {
      const { clusters, contexts, users } = parse(decode(s, 'kubeconfig')) as Record<string, unknown>;
      return { clusters, contexts, users, current: (parse(decode(s, 'kubeconfig')) as Record<string, unknown>)['current-context'] };
    };
    const dyn = secrets.find((s) => s.metadata.name === 'root-proxy-dynamic-kubeconfig');
    expect(kubeconfig(dyn)).toEqual(kubeconfig(find('Secret', 'root-proxy-dynamic-kubeconfig')));
    expect(dyn?.metadata.labels).toEqual(find('Secret', 'root-proxy-dynamic-kubeconfig').metadata.labels);
  });

  it('plans the certificates kcp-operator requests: names, issuers, subjects, usages, SANs', () => {
    const plans = frontProxyCertificates({ rootShard: { name: 'root', namespace: NS, externalHostname: 'kcp.example.test' } });
    for (const kind of ['server', 'kubeconfig', 'requestheader']) {
      const t = find('Certificate', `root-proxy-${kind}`).spec as {
        secretName: string;
        commonName?: string;
        subject?: { organizations?: string[] };
        usages: string[];
        dnsNames?: string[];
        issuerRef: { name: string };
      };
      const p = plans.find((x) => x.templateKey === kind);
      expect(p?.secretName).toBe(t.secretName);
      expect(p?.subject.commonName).toBe(t.commonName);
      expect(p?.subject.organizations).toEqual(t.subject?.organizations ?? []);
      expect([...(p?.usages ?? [])].sort()).toEqual([...t.usages].sort());
      expect(p?.dnsNames).toEqual(t.dnsNames ?? []);
      expect(p?.issuer).toEqual({ type: 'ca', secretName: t.issuerRef.name });
    }
  });
});

describe('spec.proxy', () => {
  it('configures image, replicas, resources, extra args and volumes, logging and both templates', () => {
    const m = model({
      image: { repository: 'registry.example/kcp', tag: 'v0.32.3' },
      replicas: 1,
      resources: { limits: { memory: '256Mi' } },
      extraArgs: ['--v=6'],
      logging: { level: 4 },
      extraVolumes: [{ name: 'extra', emptyDir: {} }],
      extraVolumeMounts: [{ name: 'extra', mountPath: '/extra' }],
      deploymentTemplate: { metadata: { labels: { team: 'a' } } },
      serviceTemplate: { metadata: { annotations: { note: 'x' } } },
    });
    const d = frontProxyDeployment(m, 'h');
    const c = depSpec(d).template.spec.containers[0] as Container & { image: string };
    expect(depSpec(d).replicas).toBe(1);
    expect(c.image).toBe('registry.example/kcp:v0.32.3');
    expect(c.resources).toMatchObject({ limits: { memory: '256Mi' } });
    expect(c.args.at(-1)).toBe('--v=6');
    expect(c.args).toContain('-v=4');
    expect(c.volumeMounts).toContainEqual(expect.objectContaining({ name: 'extra', mountPath: '/extra' }));
    expect(depSpec(d).template.spec.volumes).toContainEqual({ name: 'extra', emptyDir: {} });
    expect(d.metadata.labels).toMatchObject({ team: 'a' });
    expect(frontProxyService(m).metadata.annotations).toMatchObject({ note: 'x' });
  });

  it('takes nothing of a FrontProxy for users: no public port, auth flags, service-account keys or extra path mappings', () => {
    const m = model(undefined, { external: { hostname: 'kcp.example.test', port: 443 }, auth: { serviceAccount: { enabled: true } } });
    expect((frontProxyService(m).spec as { ports: Array<{ port: number }> }).ports.map((p) => p.port)).toEqual([6443]);
    expect(frontProxyArgs(m).filter((a) => /--service-account|--authentication|--oidc/.test(a))).toEqual([]);
    expect(rootShardProxyURL({ name: 'root', namespace: NS, spec: m.root.spec })).toBe('https://root-proxy.bench-0.svc.cluster.local:6443');
  });

  it('is named after the RootShard and follows its clusterDomain', () => {
    const spec = { ...(rsObj.spec as RootShardSpec), clusterDomain: 'corp.local' };
    expect(rootShardProxyName({ name: 'alpha', spec })).toBe('alpha-proxy');
    expect(rootShardProxyURL({ name: 'alpha', namespace: 'x', spec })).toBe('https://alpha-proxy.x.svc.corp.local:6443');
    expect(frontProxyNames(rootShardProxyModel({ owner: rsObj, name: 'alpha', namespace: 'x', spec }))).toMatchObject({
      server: 'alpha-proxy-server',
      kubeconfigClient: 'alpha-proxy-kubeconfig',
      requestHeaderClient: 'alpha-proxy-requestheader',
      config: 'alpha-proxy-config',
    });
  });
});

describe('where the operator reaches kcp for a Kubeconfig', () => {
  const rootShard = rsObj.spec as RootShardSpec;
  it('goes through the internal proxy for a FrontProxy target, never the FrontProxy itself', () => {
    const e = kcpEndpoint({ kind: 'FrontProxy', name: 'fp', rootShardName: 'root', rootShard, frontProxy: { rootShard: { ref: { name: 'root' } } } }, NS);
    expect(e).toEqual({ url: 'https://root-proxy.bench-0.svc.cluster.local:6443', proxy: 'root-proxy' });
  });
  it('goes to the shard itself for a shard target (as kcp-operator)', () => {
    expect(kcpEndpoint({ kind: 'RootShard', name: 'root', rootShardName: 'root', rootShard }, NS)).toEqual({ url: 'https://root-kcp.bench-0.svc.cluster.local:6443' });
  });
});
