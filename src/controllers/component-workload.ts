// Applying what a kcp component (front-proxy, cache server) runs on: its rendered Secrets and
// ConfigMaps, then the Deployment, whose pod template carries a hash of everything it mounts so a
// renewal or a new mapping file rolls the Pods, then the Service. Nothing is written for objects
// that are already as desired.
import type { KubeObject } from '../kube/object.js';
import { ConfigMaps, Deployments, Secrets, Services } from '../kube/resources.js';
import type { TlsSecretData } from '../pki/bundle.js';
import { mountsHash, type Mount } from '../resources/common/workload.js';
import { secretData, type ControllerContext } from './context.js';
import { configMapInformer } from './watches.js';

export interface ComponentObjects {
  namespace: string;
  secrets: readonly KubeObject[];
  configMaps?: readonly KubeObject[];
  mounts: readonly Mount[];
  /** Certificates issued in this pass, which the cache may not hold yet. */
  certs: ReadonlyMap<string, TlsSecretData>;
  deployment: (mountsHash: string) => KubeObject;
  service: KubeObject;
}

export interface ComponentOutcome {
  deployment: KubeObject;
  writes: number;
}

export async function applyComponent(ctx: ControllerContext, o: ComponentObjects): Promise<ComponentOutcome> {
  const ns = o.namespace;
  const configMaps = configMapInformer(ctx);
  const rendered = new Map<string, Record<string, string>>();
  for (const s of o.secrets) rendered.set(`secret/${s.metadata.name}`, secretData(s) ?? {});
  for (const c of o.configMaps ?? []) rendered.set(`configmap/${c.metadata.name}`, (c.data as Record<string, string> | undefined) ?? {});
  // Hash what the Pods will see: what we are about to write, else fresh certificates, else the cache.
  const data = (key: string): Record<string, string> | undefined => {
    const [kind, name = ''] = key.split('/', 2) as [string, string?];
    return (
      rendered.get(key) ??
      (kind === 'secret'
        ? ((o.certs.get(name) as Record<string, string> | undefined) ?? secretData(ctx.secrets.getByName(ns, name)))
        : (configMaps.getByName(ns, name)?.data as Record<string, string> | undefined))
    );
  };
  const hash = mountsHash(
    o.mounts.flatMap((m) => (m.secretName ? [`secret/${m.secretName}`] : m.configMapName ? [`configmap/${m.configMapName}`] : [])),
    data,
  );
  let writes = 0;
  for (const s of o.secrets) if ((await ctx.applier.apply(Secrets, s, ctx.secrets.getByName(ns, s.metadata.name ?? ''))).changed) writes++;
  for (const c of o.configMaps ?? []) if ((await ctx.applier.apply(ConfigMaps, c, configMaps.getByName(ns, c.metadata.name ?? ''))).changed) writes++;
  const desired = o.deployment(hash);
  const dep = await ctx.applier.apply(Deployments, desired, ctx.deployments.getByName(ns, desired.metadata.name ?? ''));
  if (dep.changed) writes++;
  if ((await ctx.applier.apply(Services, o.service, ctx.services.getByName(ns, o.service.metadata.name ?? ''))).changed) writes++;
  return { deployment: dep.object, writes };
}
