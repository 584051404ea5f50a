// Applying what a kcp component (front-proxy, cache server) runs on: its rendered Secrets and
// ConfigMaps, then the Deployment, whose pod template carries a hash of everything it mounts so a
// renewal or a new mapping file rolls the Pods, its PodDisruptionBudget, then the Service. Nothing
// is written for objects that are already as desired.
import type { PodDisruptionBudgetSpec } from '../api/disruption.js';
import type { KubeObject } from '../kube/object.js';
import { describeError, isInvalid } from '../kube/errors.js';
import { ConfigMaps, Deployments, Secrets, Services, type ResourceType } from '../kube/resources.js';
import type { TlsSecretData } from '../pki/bundle.js';
import { keepLiveSelector } from '../resources/common/labels.js';
import { mountsHash, type Mount } from '../resources/common/workload.js';
import { secretData, type ControllerContext } from './context.js';
import { reconcilePodDisruptionBudget } from './pdb.js';
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
  /** spec.podDisruptionBudget (ours); unset still means the default budget above one replica. */
  podDisruptionBudget?: PodDisruptionBudgetSpec;
}

export interface ComponentOutcome {
  deployment: KubeObject | undefined;
  writes: number;
  /** Objects the API server rejected (a serviceTemplate clusterIP outside the cluster's range): a person must act. */
  rejected?: { reason: string; message: string };
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
  const applier = rejectingApplier(ctx, ns);
  const apply = applier.apply;
  for (const s of o.secrets) await apply(Secrets, s, ctx.secrets.getByName(ns, s.metadata.name ?? ''));
  for (const c of o.configMaps ?? []) await apply(ConfigMaps, c, configMaps.getByName(ns, c.metadata.name ?? ''));
  const desired = o.deployment(hash);
  const live = ctx.deployments.getByName(ns, desired.metadata.name ?? '');
  // The budget selects what the Deployment really selects (a kept selector included).
  const kept = keepLiveSelector(desired, live);
  const deployment = await apply(Deployments, kept, live);
  await applier.run('PodDisruptionBudget', kept.metadata.name ?? '', () => reconcilePodDisruptionBudget(ctx, kept, o.podDisruptionBudget));
  await apply(Services, o.service, ctx.services.getByName(ns, o.service.metadata.name ?? ''));
  return { deployment, writes: applier.writes, rejected: applier.rejected };
}

/**
 * Applies a component's objects, counting the writes. A 422 (or server-side apply's "cannot
 * merge") is the user's input, which the server will never accept: it is kept as the outcome's
 * rejection, to be reported as a condition, instead of failing the reconcile over and over.
 */
export function rejectingApplier(ctx: ControllerContext, ns: string): {
  apply: (r: ResourceType, desired: KubeObject, live: KubeObject | undefined) => Promise<KubeObject | undefined>;
  /** Runs a write of `kind` named `name` that reports whether it wrote; a 422 becomes the rejection. */
  run: (kind: string, name: string, write: () => Promise<boolean>) => Promise<void>;
  writes: number;
  rejected: { reason: string; message: string } | undefined;
} {
  const reject = (kind: string, name: string | undefined, err: unknown): void => {
    if (!isInvalid(err)) throw err;
    state.rejected ??= { reason: `${kind}Invalid`, message: `${kind} ${ns}/${name ?? ''}: ${describeError(err)}` };
  };
  const state = {
    writes: 0,
    rejected: undefined as { reason: string; message: string } | undefined,
    apply: async (r: ResourceType, desired: KubeObject, live: KubeObject | undefined): Promise<KubeObject | undefined> => {
      try {
        const out = await ctx.applier.apply(r, desired, live);
        if (out.changed) state.writes++;
        return out.object;
      } catch (err) {
        reject(r.kind, desired.metadata.name, err);
        return undefined;
      }
    },
    run: async (kind: string, name: string, write: () => Promise<boolean>): Promise<void> => {
      try {
        if (await write()) state.writes++;
      } catch (err) {
        reject(kind, name, err);
      }
    },
  };
  return state;
}
