// What a RootShard's spec.release means for one component's rendering, as pure functions: the
// part of the release its kind uses, a revision that changes exactly when that part does, the
// spec it renders from, and the record on its Deployment that says which release it runs (so the
// operator can keep rendering the old one until the rollout reaches it, across restarts).
import { createHash } from 'node:crypto';
import type { ImageSpec } from '../api/common.js';
import type { ReleaseSpec, RolloutComponentKind } from '../api/release.js';
import type { KubeObject } from '../kube/object.js';
import { imageRef } from './common/workload.js';

/** On a Deployment's metadata (not its Pod template): the release it was rendered with. */
export const RELEASE_ANNOTATION = 'operator.kcp.io/release';

/** The part of a release one component uses. */
export interface AppliedRelease {
  revision: string;
  image?: ImageSpec;
  extraArgs?: string[];
}

export type ReleaseFamily = 'shard' | 'proxy';

export function familyOf(kind: RolloutComponentKind): ReleaseFamily {
  return kind === 'RootShard' || kind === 'Shard' ? 'shard' : 'proxy';
}

/** The release as a component of `family` applies it; the revision hashes exactly that. */
export function appliedRelease(family: ReleaseFamily, release: ReleaseSpec): AppliedRelease {
  const args = family === 'shard' ? release.extraArgs : release.frontProxyExtraArgs;
  const image = release.image && (release.image.repository || release.image.tag || release.image.imagePullSecrets?.length) ? release.image : undefined;
  // The image as it renders (defaults filled in), so `{}` and the default tag are one revision.
  const canonical = JSON.stringify({ image: imageRef(image).ref, pull: image?.imagePullSecrets ?? [], args: args ?? [] });
  return {
    revision: createHash('sha256').update(canonical).digest('hex').slice(0, 10),
    ...(image ? { image } : {}),
    ...(args?.length ? { extraArgs: args } : {}),
  };
}

/** The version a release (or a component's own image) runs: its image tag. */
export function versionOf(image: ImageSpec | undefined): string {
  return imageRef(image).tag;
}

/** The spec a component renders from under `applied`: its image, flags before the component's own. */
export function withRelease<S extends { image?: ImageSpec; extraArgs?: string[] }>(spec: S, applied: AppliedRelease | undefined): S {
  if (!applied) return spec;
  return {
    ...spec,
    ...(applied.image ? { image: applied.image } : {}),
    ...(applied.extraArgs?.length ? { extraArgs: [...applied.extraArgs, ...(spec.extraArgs ?? [])] } : {}),
  };
}

/** Records `applied` on a rendered Deployment. */
export function stampRelease(deployment: KubeObject, applied: AppliedRelease | undefined): KubeObject {
  if (!applied) return deployment;
  return {
    ...deployment,
    metadata: { ...deployment.metadata, annotations: { ...deployment.metadata.annotations, [RELEASE_ANNOTATION]: JSON.stringify(applied) } },
  };
}

/** The release a live Deployment was rendered with; undefined when it carries none (or one that does not parse). */
export function recordedRelease(deployment: KubeObject | undefined): AppliedRelease | undefined {
  const raw = deployment?.metadata.annotations?.[RELEASE_ANNOTATION];
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<AppliedRelease> | null;
    if (!v || typeof v.revision !== 'string') return undefined;
    const args = Array.isArray(v.extraArgs) && v.extraArgs.every((a) => typeof a === 'string') ? v.extraArgs : undefined;
    const image = v.image && typeof v.image === 'object' ? v.image : undefined;
    return { revision: v.revision, ...(image ? { image } : {}), ...(args ? { extraArgs: args } : {}) };
  } catch {
    return undefined;
  }
}
