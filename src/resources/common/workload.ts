// Pieces every rendered Deployment and Service shares: volumes from Secrets, probes, the
// restricted security context, resource defaults merged key by key, the user's templates, and the
// pod-template annotation that rolls Pods when a mounted Secret's content changes.
import { createHash } from 'node:crypto';
import type { V1ResourceRequirements, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { ImageSpec } from '../../api/common.js';
import type { DeploymentTemplate, ServiceTemplate } from '../../api/templates.js';
import { DEFAULT_KCP_VERSION } from '../kcp-version.js';

export const DEFAULT_IMAGE_REPOSITORY = 'ghcr.io/kcp-dev/kcp';
/** Pod template annotation: a hash of every mounted Secret's data, so a renewal rolls the Pods. */
export const MOUNTS_HASH_ANNOTATION = 'ts.operator.kcp.io/mounts-hash';

export interface Mount {
  /** Volume name; also the Secret or ConfigMap name unless `source` says otherwise. */
  volume: string;
  path: string;
  secretName?: string;
  configMapName?: string;
  /** Scratch space that lives as long as the Pod (the cache server's embedded etcd). */
  emptyDir?: boolean;
  readOnly?: boolean;
  /** Project only these keys (a CA's tls.crt, never its tls.key). */
  items?: readonly string[];
}

export function imageRef(image: ImageSpec | undefined): { ref: string; tag: string } {
  const tag = image?.tag || DEFAULT_KCP_VERSION;
  return { ref: `${image?.repository || DEFAULT_IMAGE_REPOSITORY}:${tag}`, tag };
}

export function volumesFor(mounts: readonly Mount[]): { volumes: V1Volume[]; volumeMounts: V1VolumeMount[] } {
  const volumes: V1Volume[] = [];
  const seen = new Set<string>();
  for (const m of mounts) {
    if (seen.has(m.volume)) continue;
    seen.add(m.volume);
    const items = m.items?.map((k) => ({ key: k, path: k }));
    volumes.push(
      m.emptyDir
        ? { name: m.volume, emptyDir: {} }
        : m.configMapName
          ? { name: m.volume, configMap: { name: m.configMapName, ...(items ? { items } : {}) } }
          : { name: m.volume, secret: { secretName: m.secretName ?? m.volume, ...(items ? { items } : {}) } },
    );
  }
  const volumeMounts = mounts.map((m) => ({ name: m.volume, mountPath: m.path, readOnly: m.readOnly ?? !m.emptyDir }));
  return { volumes, volumeMounts };
}

/** Hash of the data of every mounted object; `data` maps object name to its data (absent: not yet there). */
export function mountsHash(names: readonly string[], data: (name: string) => Record<string, string> | undefined): string {
  const h = createHash('sha256');
  for (const n of [...new Set(names)].sort()) {
    h.update(n);
    const d = data(n);
    for (const k of Object.keys(d ?? {}).sort()) h.update(`\0${k}\0${d?.[k] ?? ''}`);
    h.update('\n');
  }
  return h.digest('hex').slice(0, 20);
}

export const restrictedSecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/** User resources win key by key over the defaults (requests.cpu, limits.memory, …). */
export function mergeResources(
  defaults: V1ResourceRequirements | undefined,
  user: V1ResourceRequirements | undefined,
): V1ResourceRequirements | undefined {
  if (!defaults && !user) return undefined;
  const out: V1ResourceRequirements = {};
  for (const k of ['requests', 'limits'] as const) {
    const merged = { ...(defaults?.[k] ?? {}), ...(user?.[k] ?? {}) };
    if (Object.keys(merged).length) out[k] = merged;
  }
  return out;
}

export type Probe = ReturnType<typeof httpsProbe>;

export function httpsProbe(path: string, o: { failureThreshold: number; initialDelaySeconds: number; periodSeconds: number; timeoutSeconds?: number }) {
  return {
    httpGet: { path, port: 'https', scheme: 'HTTPS' },
    failureThreshold: o.failureThreshold,
    initialDelaySeconds: o.initialDelaySeconds,
    periodSeconds: o.periodSeconds,
    ...(o.timeoutSeconds ? { timeoutSeconds: o.timeoutSeconds } : {}),
  };
}

/**
 * The user's deploymentTemplate on top of what we render: labels and annotations are added (ours
 * win, selectors depend on them), pod spec fields the template sets replace ours.
 */
export function applyDeploymentTemplate<T extends { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: { template: { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: Record<string, unknown> } } }>(
  deployment: T,
  template: DeploymentTemplate | undefined,
): T {
  if (!template) return deployment;
  const d = structuredClone(deployment);
  d.metadata.labels = { ...template.metadata?.labels, ...d.metadata.labels };
  d.metadata.annotations = maybe({ ...template.metadata?.annotations, ...d.metadata.annotations });
  const pod = template.spec?.template;
  d.spec.template.metadata.labels = { ...pod?.metadata?.labels, ...d.spec.template.metadata.labels };
  d.spec.template.metadata.annotations = maybe({ ...pod?.metadata?.annotations, ...d.spec.template.metadata.annotations });
  for (const [k, v] of Object.entries(pod?.spec ?? {})) if (v !== undefined) d.spec.template.spec[k] = v;
  return d;
}

export function applyServiceTemplate<T extends { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: Record<string, unknown> }>(
  service: T,
  template: ServiceTemplate | undefined,
): T {
  if (!template) return service;
  const s = structuredClone(service);
  s.metadata.labels = { ...template.metadata?.labels, ...s.metadata.labels };
  s.metadata.annotations = maybe({ ...template.metadata?.annotations, ...s.metadata.annotations });
  if (template.spec?.type) s.spec.type = template.spec.type;
  if (template.spec?.clusterIP) s.spec.clusterIP = template.spec.clusterIP;
  return s;
}

function maybe(m: Record<string, string>): Record<string, string> | undefined {
  return Object.keys(m).length ? m : undefined;
}

/** `-v=N` from logging.level, falling back to the deprecated logLevel.verbosityLevel. */
export function verbosity(logging: { level?: number } | undefined, legacy: { verbosityLevel?: number } | undefined): string[] {
  const v = logging?.level ?? legacy?.verbosityLevel;
  return v === undefined ? [] : [`-v=${v}`];
}
