// Rendering and applying what a kcp shard runs on, for RootShard and Shard alike: merged CA
// bundles, kubeconfig Secrets, the Deployment (whose pod template carries a hash of every mounted
// Secret, so a renewal rolls the Pods), its PodDisruptionBudget and the Service.
import type { KubeObject } from '../kube/object.js';
import { Deployments, Secrets, Services } from '../kube/resources.js';
import type { TlsSecretData } from '../pki/bundle.js';
import { keepLiveSelector } from '../resources/common/labels.js';
import { mountsHash } from '../resources/common/workload.js';
import { stampRelease } from '../resources/release.js';
import { deploymentName, secretNames, type ShardModel } from '../resources/shard/model.js';
import { shardDeployment, shardMounts, shardService } from '../resources/shard/deployment.js';
import { shardSecrets, type BundleInputs } from '../resources/shard/secrets.js';
import { secretData, type ControllerContext } from './context.js';
import { shardVirtualWorkspace } from './virtualworkspace.js';
import { reconcilePodDisruptionBudget } from './pdb.js';
import { rejectingApplier } from './component-workload.js';

export interface WorkloadOutcome {
  /** A referenced object that must exist first; nothing was applied. */
  missing?: { reason: string; message: string };
  deployment?: KubeObject;
  /** Write requests this pass made. */
  writes: number;
}

export async function applyShardWorkload(
  ctx: ControllerContext,
  m: ShardModel,
  certs: ReadonlyMap<string, TlsSecretData>,
  certsReady: boolean,
): Promise<WorkloadOutcome> {
  const ns = m.namespace;
  // Pods would only wait on Secrets that do not exist yet; render once the certificates are there,
  // so the Deployment is written once and not again when they appear.
  if (!certsReady) return { missing: { reason: 'CertificatesPending', message: 'certificates are being issued' }, writes: 0 };
  // Never half-rendered: a shard told to leave its virtual workspaces to a VirtualWorkspace that
  // is not there is not started at all, rather than started serving none.
  const vw = shardVirtualWorkspace(ctx, ns, m.spec.kcpVirtualWorkspace);
  if (vw && 'reason' in vw) return { missing: vw, writes: 0 };
  if (vw) m = { ...m, virtualWorkspaceURL: vw.url };
  const n = secretNames(m);
  const cached = (name: string) => secretData(ctx.secrets.getByName(ns, name));
  const pem = (name: string) => certs.get(name)?.['tls.crt'] ?? cached(name)?.['tls.crt'];

  const [rootCA, serverCA, clientCA] = [pem(n.rootCA), pem(n.serverCA), pem(n.clientCA)];
  if (!rootCA || !serverCA || !clientCA) {
    return { missing: { reason: 'CertificatesPending', message: 'the CA certificates are not issued yet' }, writes: 0 };
  }
  const refs: Array<[string, string | undefined]> = [
    ['caBundleSecretRef', m.spec.caBundleSecretRef?.name ?? m.root.spec.caBundleSecretRef?.name],
    ['RootShard clientCABundleRef', m.root.spec.clientCABundleRef?.name],
    ['clientCABundleRef', m.kind === 'Shard' ? m.spec.clientCABundleRef?.name : undefined],
  ];
  for (const [field, name] of refs) {
    if (name && !cached(name)?.['tls.crt']) {
      return { missing: { reason: 'SecretNotFound', message: `${field}: Secret ${ns}/${name} does not exist or has no tls.crt` }, writes: 0 };
    }
  }
  const bundles: BundleInputs = {
    rootCA,
    serverCA,
    clientCA,
    extraCABundle: refs[0]?.[1] ? cached(refs[0][1])?.['tls.crt'] : undefined,
    extraClientCAs: [refs[1]?.[1], refs[2]?.[1]].filter((x): x is string => !!x).map((x) => cached(x)?.['tls.crt'] ?? ''),
  };

  const secrets = shardSecrets(m, bundles);
  // Hash what the Pods will see: what we are about to write, else what certificates hold now, else the cache.
  const rendered = new Map(secrets.map((s) => [s.metadata.name ?? '', secretData(s) ?? {}]));
  const data = (name: string): Record<string, string> | undefined =>
    rendered.get(name) ?? (certs.get(name) as Record<string, string> | undefined) ?? cached(name);
  const hash = mountsHash(
    shardMounts(m).flatMap((x) => (x.secretName ? [x.secretName] : [])),
    data,
  );
  // A 422 is the user's input (an extra volume, a template): reported as a condition, not retried.
  const applier = rejectingApplier(ctx, ns);
  const apply = applier.apply;
  for (const s of secrets) await apply(Secrets, s, ctx.secrets.getByName(ns, s.metadata.name ?? ''));
  const name = deploymentName(m.kind, m.name);
  const live = ctx.deployments.getByName(ns, name);
  // The budget selects what the Deployment really selects (a kept selector included).
  const desired = keepLiveSelector(stampRelease(shardDeployment(m, hash), m.release), live);
  const dep = await apply(Deployments, desired, live);
  await applier.run('PodDisruptionBudget', name, () => reconcilePodDisruptionBudget(ctx, desired, m.spec.podDisruptionBudget));
  await apply(Services, shardService(m), ctx.services.getByName(ns, name));
  return applier.rejected ? { missing: applier.rejected, deployment: dep, writes: applier.writes } : { deployment: dep, writes: applier.writes };
}
