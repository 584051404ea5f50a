import type { Asn1 } from './asn1.js';
import { OID, children, readOid, readString, seq, set, oid, utf8 } from './asn1.js';

/** The parts of an X.509 name that Kubernetes reads: CN is the user, each O a group. */
export interface Subject {
  /** Optional: kcp-operator's server certificates carry no CN, only SANs. */
  commonName?: string;
  organizations?: readonly string[];
  organizationalUnits?: readonly string[];
}

export interface ParsedName {
  commonName?: string;
  organizations: string[];
  organizationalUnits: string[];
  /** Attributes other than CN, O and OU, as "oid=value", so that no part of a name goes unseen. */
  other: string[];
}

/**
 * One attribute per RDN, in Go's pkix.Name order (O, OU, CN), as UTF8String (RFC 5280 §4.1.2.4).
 * Repeated O attributes are how several Kubernetes groups are expressed.
 */
export function encodeName(subject: Subject): Asn1 {
  const rdn = (type: string, value: string): Asn1 => set([seq([oid(type), utf8(value)])]);
  return seq([
    ...(subject.organizations ?? []).map((o) => rdn(OID.organizationName, o)),
    ...(subject.organizationalUnits ?? []).map((ou) => rdn(OID.organizationalUnitName, ou)),
    ...(subject.commonName === undefined || subject.commonName === '' ? [] : [rdn(OID.commonName, subject.commonName)]),
  ]);
}

export function decodeName(node: Asn1): ParsedName {
  const out: ParsedName = { organizations: [], organizationalUnits: [], other: [] };
  for (const rdn of children(node)) {
    for (const atv of children(rdn)) {
      const [typeNode, valueNode] = children(atv);
      const type = readOid(typeNode);
      const value = valueNode === undefined ? '' : readString(valueNode);
      if (type === OID.commonName) out.commonName = value;
      else if (type === OID.organizationName) out.organizations.push(value);
      else if (type === OID.organizationalUnitName) out.organizationalUnits.push(value);
      else out.other.push(`${type}=${value}`);
    }
  }
  return out;
}

export function isEmptyName(subject: Subject): boolean {
  return (
    (subject.commonName ?? '') === '' &&
    (subject.organizations ?? []).length === 0 &&
    (subject.organizationalUnits ?? []).length === 0
  );
}
