// Per-Secret certificate gauges (notAfter and renewal time) for the certificate alerts. Each owner's
// reconcile reports the whole set of Secrets it evaluated; series of Secrets that left its plan,
// and all of an owner's series when the owner is deleted, are removed, so labels stay bounded by
// what exists. A Secret two owners report (none today) keeps its series until both let go.
import { certificateExpiry, certificateRenewal } from '../kube/metrics.js';
import type { KubeObject } from '../kube/object.js';

export interface CertificateObservation {
  secretName: string;
  isCA: boolean;
  notAfter: Date;
  renewAt: Date;
}

type Labels = { namespace: string; secret: string; ca: string };

/** owner (kind/namespace/name) -> series it reported, by `namespace/secret/ca`. */
const byOwner = new Map<string, Map<string, Labels>>();

const ownerKey = (o: KubeObject): string => `${o.kind ?? ''}/${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
const seriesKey = (l: Labels): string => `${l.namespace}/${l.secret}/${l.ca}`;

function release(owner: string, series: Iterable<[string, Labels]>): void {
  for (const [key, labels] of series) {
    const stillUsed = [...byOwner.entries()].some(([o, s]) => o !== owner && s.has(key));
    if (stillUsed) continue;
    certificateExpiry.remove(labels);
    certificateRenewal.remove(labels);
  }
}

/** Sets the gauges for what `owner`'s reconcile saw and drops its series it no longer reports. */
export function recordCertificates(owner: KubeObject, observed: readonly CertificateObservation[]): void {
  const key = ownerKey(owner);
  const namespace = owner.metadata.namespace ?? '';
  const now = new Map<string, Labels>();
  for (const o of observed) {
    const labels: Labels = { namespace, secret: o.secretName, ca: String(o.isCA) };
    certificateExpiry.set(labels, o.notAfter.getTime() / 1000);
    certificateRenewal.set(labels, o.renewAt.getTime() / 1000);
    now.set(seriesKey(labels), labels);
  }
  const before = byOwner.get(key);
  byOwner.set(key, now);
  if (before) release(key, [...before].filter(([k]) => !now.has(k)));
}

/** The owner is gone: its series go too (a CA Secret it leaves behind is no longer watched). */
export function forgetCertificates(owner: KubeObject): void {
  const key = ownerKey(owner);
  const before = byOwner.get(key);
  if (!before) return;
  byOwner.delete(key);
  release(key, before);
}
