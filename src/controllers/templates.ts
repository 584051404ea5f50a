// certificateTemplates from the API (cert-manager-shaped, Go durations) into the PKI plan's terms.
import type { CertificateTemplateMap } from '../api/certificates.js';
import type { CertificateTemplates, CertificateTemplate } from '../pki/hierarchy.js';
import { parseGoDuration } from '../resources/common/duration.js';

export function certificateTemplatesFor(templates: CertificateTemplateMap | undefined): CertificateTemplates {
  const out: Record<string, CertificateTemplate> = {};
  for (const [key, t] of Object.entries(templates ?? {})) {
    const spec = t?.spec;
    if (!spec) continue;
    const pk = spec.privateKey;
    out[key] = {
      ...(spec.dnsNames ? { dnsNames: spec.dnsNames } : {}),
      ...(spec.ipAddresses ? { ipAddresses: spec.ipAddresses } : {}),
      ...(spec.subject?.organizations ? { organizations: spec.subject.organizations } : {}),
      ...(spec.subject?.organizationalUnits ? { organizationalUnits: spec.subject.organizationalUnits } : {}),
      ...(spec.duration ? { durationMs: parseGoDuration(spec.duration) } : {}),
      ...(spec.renewBefore ? { renewBeforeMs: parseGoDuration(spec.renewBefore) } : {}),
      ...(pk && (pk.algorithm || pk.size || pk.encoding)
        ? { privateKey: { ...(pk.algorithm ? { algorithm: pk.algorithm } : {}), ...(pk.size ? { size: pk.size } : {}), ...(pk.encoding ? { encoding: pk.encoding } : {}) } }
        : {}),
    };
  }
  return out;
}
