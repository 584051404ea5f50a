// Sources as the sidecar's source caches keep them. The status annotation the sidecar writes on a
// source lists every destination (about 100 bytes each): at 10,000 sources × 10 namespaces its
// text was 9 MiB of the cache. The cache keeps a digest of it instead, and beside it the one thing
// composing the next status reads from the current one: the lastSync times.
import { createHash } from 'node:crypto';
import type { KubeObject } from '../src/kube/object.js';
import { STATUS_ANNOTATION } from './keys.js';
import { NONE_WRITTEN, lastSyncTimes, parseStatus, type WrittenTimes } from './status.js';

/** Marks a digest; a status text is JSON and never starts with it. */
const DIGEST = 'sha256:';

export const statusDigest = (text: string): string => `${DIGEST}${createHash('sha256').update(text).digest('base64')}`;

/** lastSync times of the status a cached source had, by the object the cache holds. */
const previousSync = new WeakMap<KubeObject, WrittenTimes>();

/** The source caches' transform: the status annotation replaced by its digest, its times kept. */
export function slimSource(obj: KubeObject): KubeObject {
  const text = obj.metadata.annotations?.[STATUS_ANNOTATION];
  if (text === undefined || text.startsWith(DIGEST)) return obj;
  const slim: KubeObject = { ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata.annotations, [STATUS_ANNOTATION]: statusDigest(text) } } };
  const times = lastSyncTimes(parseStatus(text));
  if (times !== NONE_WRITTEN) previousSync.set(slim, times);
  return slim;
}

/**
 * The current status of a source as composing the next one needs it: whether `next` is what the
 * source already says, and the lastSync times it lists. Works on sources as the caches keep them
 * and on whole objects (read from the API, or from a cache without the transform).
 */
export function currentStatus(source: KubeObject): { is(next: string): boolean; lastSync: WrittenTimes } {
  const text = source.metadata.annotations?.[STATUS_ANNOTATION];
  if (text === undefined) return { is: () => false, lastSync: NONE_WRITTEN };
  if (text.startsWith(DIGEST)) return { is: (next) => statusDigest(next) === text, lastSync: previousSync.get(source) ?? NONE_WRITTEN };
  return { is: (next) => next === text, lastSync: lastSyncTimes(parseStatus(text)) };
}
