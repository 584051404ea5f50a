// Fields the API accepts (for kcp-operator compatibility) that this operator does not act on yet.
// They are never silently ignored: they show up as an `UnsupportedFields` condition (abnormal-true,
// like kstatus' Reconciling/Stalled), naming each field and what happens instead.
import type { CertificateTemplate } from '../api/certificates.js';
import type { ConditionInput } from '../kube/conditions.js';
import type { CommonShardSpec } from '../api/shard-common.js';
import type { RootShardSpec } from '../api/rootshard.js';

export function unsupportedShardFields(spec: CommonShardSpec & Partial<Pick<RootShardSpec, 'proxy'>>): string[] {
  const out: string[] = [];
  if (spec.auth?.dropGroups?.length || spec.auth?.passOnGroups?.length) {
    out.push('spec.auth.dropGroups/passOnGroups (front-proxy options; set them on the FrontProxy)');
  }
  for (const [key, t] of Object.entries(spec.certificateTemplates ?? {})) out.push(...unsupportedTemplateFields(`spec.certificateTemplates.${key}`, t));
  for (const [key, t] of Object.entries(spec.proxy?.certificateTemplates ?? {})) out.push(...unsupportedTemplateFields(`spec.proxy.certificateTemplates.${key}`, t));
  return out;
}

/** The parts of one certificate template (at `path`) the built-in PKI does not act on. */
export function unsupportedTemplateFields(path: string, t: CertificateTemplate | undefined): string[] {
  const out: string[] = [];
  if (t?.spec?.privateKey?.rotationPolicy === 'Never') out.push(`${path}.spec.privateKey.rotationPolicy=Never (keys are rotated on every reissue)`);
  if (t?.metadata || t?.spec?.secretTemplate) out.push(`${path} metadata/secretTemplate (labels and annotations are not copied)`);
  if (t?.spec?.issuerRef) out.push(`${path}.spec.issuerRef (leaves are always issued by the built-in CAs)`);
  return out;
}

export function unsupportedCondition(fields: string[], generation: number | undefined): ConditionInput[] {
  if (fields.length === 0) return [];
  return [
    {
      type: 'UnsupportedFields',
      status: 'True',
      reason: 'NotImplemented',
      message: `not acted on: ${fields.join('; ')}`,
      observedGeneration: generation,
    },
  ];
}
