// Conditions the FrontProxy, CacheServer and Kubeconfig controllers compute the same way.
import type { CertificateTemplateMap } from '../api/certificates.js';
import type { ConditionInput } from '../kube/conditions.js';
import { blockedSummary, type CertificatesOutcome } from './certificates.js';
import { unsupportedTemplateFields } from './unsupported.js';

/** CertificatesReady from a reconcileCertificates outcome; `failure` overrides the reason when a person must act. */
export function certificatesCondition(
  certs: CertificatesOutcome,
  count: number,
  generation: number | undefined,
  failure?: { reason: string; message: string },
): ConditionInput {
  return certs.ready
    ? { type: 'CertificatesReady', status: 'True', reason: 'Issued', message: `${count} certificate${count === 1 ? '' : 's'} valid`, observedGeneration: generation }
    : {
        type: 'CertificatesReady',
        status: 'False',
        reason: failure?.reason ?? certs.blocked[0]?.reason ?? 'Issuing',
        message: failure?.message ?? (blockedSummary(certs.blocked) || 'issuing'),
        observedGeneration: generation,
      };
}

/** The RootShard reference condition of Shard-like kinds (kcp-operator's `RootShard` type and reasons). */
export function rootShardRefConditions(namespace: string, rootName: string | undefined, found: boolean, generation: number | undefined) {
  if (found) {
    return { ok: true as const, conditions: [{ type: 'RootShard', status: 'True', reason: 'Valid', message: `RootShard ${rootName}`, observedGeneration: generation }] satisfies ConditionInput[] };
  }
  const message = rootName
    ? `spec.rootShard.ref: RootShard ${namespace}/${rootName} does not exist; create it or fix the reference`
    : 'spec.rootShard.ref is not set';
  const conditions: ConditionInput[] = [
    { type: 'Available', status: 'False', reason: 'RootShardNotFound', message, observedGeneration: generation },
    { type: 'RootShard', status: 'False', reason: rootName ? 'RootShardNotFound' : 'InvalidReference', message, observedGeneration: generation },
  ];
  return { ok: false as const, conditions, failure: { reason: 'RootShardNotFound', message } };
}

/** What spec.certificateTemplates asks for that the built-in PKI does not do. */
export function unsupportedTemplates(templates: CertificateTemplateMap | undefined): string[] {
  return Object.entries(templates ?? {}).flatMap(([key, t]) => unsupportedTemplateFields(`spec.certificateTemplates.${key}`, t));
}
