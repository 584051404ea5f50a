// How the PKI of an installation is rooted (`certificates`) and how individual certificates may be
// customised (`certificateTemplates`). Field names follow kcp-operator, which took them from
// cert-manager's Certificate; with the built-in PKI the same fields drive our own issuance.
import {
  API_GROUP_NAME,
  celIsDuration,
  DNS_SAN,
  DURATION,
  IP_ADDRESS_CHARS,
  KIND,
} from './formats.js';
import { localRef } from './common.js';
import type { LocalObjectReference, ObjectReference } from './common.js';
import { array, integer, map, object, rule, string, stringMap, type JSONSchemaProps } from './schema.js';

/**
 * Where the root CA comes from. Neither set: the operator creates a self-signed root CA itself
 * (built-in PKI). `issuerRef`: a cert-manager issuer signs the root CA. `caSecretRef`: bring your own CA.
 */
export interface Certificates {
  issuerRef?: ObjectReference;
  caSecretRef?: LocalObjectReference;
}

export type PrivateKeyRotationPolicy = 'Never' | 'Always';
export type PrivateKeyEncoding = 'PKCS1' | 'PKCS8';
export type PrivateKeyAlgorithm = 'RSA' | 'ECDSA' | 'Ed25519';

export interface CertificateTemplate {
  metadata?: CertificateMetadataTemplate;
  spec?: CertificateSpecTemplate;
}

export interface CertificateMetadataTemplate {
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface CertificateSpecTemplate {
  subject?: X509Subject;
  issuerRef?: ObjectReference;
  dnsNames?: string[];
  ipAddresses?: string[];
  secretTemplate?: CertificateSecretTemplate;
  /** A Go duration string, e.g. `8760h`. */
  duration?: string;
  /** A Go duration string, e.g. `168h`. */
  renewBefore?: string;
  privateKey?: CertificatePrivateKeyTemplate;
}

export interface CertificateSecretTemplate {
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface CertificatePrivateKeyTemplate {
  rotationPolicy?: PrivateKeyRotationPolicy;
  encoding?: PrivateKeyEncoding;
  algorithm?: PrivateKeyAlgorithm;
  size?: number;
}

export interface X509Subject {
  organizations?: string[];
  countries?: string[];
  organizationalUnits?: string[];
  localities?: string[];
  provinces?: string[];
  streetAddresses?: string[];
  postalCodes?: string[];
  serialNumber?: string;
}

/** Keys of `certificateTemplates`: a certificate kind, or `<ca>-ca` for a CA. */
export const CERTIFICATE_TEMPLATE_KEYS = [
  'server',
  'client',
  'service-account',
  'virtual-workspaces',
  'requestheader',
  'mounts-proxy',
  'kubeconfig',
  'admin-kubeconfig',
  'logical-cluster-admin',
  'external-logical-cluster-admin',
  'kcp-operator',
  'root-ca',
  'server-ca',
  'service-account-ca',
  'client-ca',
  'requestheader-client-ca',
  'front-proxy-client-ca',
  'ca-bundle-ca',
] as const;

export type CertificateTemplateKey = (typeof CERTIFICATE_TEMPLATE_KEYS)[number];

/** Map of certificate kind to template. */
export type CertificateTemplateMap = Partial<Record<CertificateTemplateKey, CertificateTemplate>>;

export function issuerRef(description: string): JSONSchemaProps {
  return object(
    description,
    {
      name: string('Name of the issuer.', { minLength: 1, maxLength: 253 }),
      kind: string('Kind of the issuer, for example `Issuer` (same namespace) or `ClusterIssuer`. Defaults to `Issuer`.', {
        pattern: KIND,
        maxLength: 63,
      }),
      group: string('API group of the issuer. Defaults to `cert-manager.io`; set it for external issuers.', {
        pattern: API_GROUP_NAME,
        maxLength: 253,
      }),
    },
    { required: ['name'] },
  );
}

/** `certificates` of RootShard and CacheServer. */
export function certificatesSchema(description: string): JSONSchemaProps {
  return object(
    description,
    {
      issuerRef: issuerRef(
        'A cert-manager Issuer or ClusterIssuer that signs the root CA of this installation; every other CA and ' +
          'certificate is then derived from it by the operator. Requires cert-manager in the cluster; without it the ' +
          'object reports why in its status. Mutually exclusive with `caSecretRef`.',
      ),
      caSecretRef: localRef(
        'A Secret (type kubernetes.io/tls, with `tls.crt` and `tls.key`) holding an existing CA certificate and its ' +
          'private key, used as the root CA of this installation. The operator never modifies it. ' +
          'Mutually exclusive with `issuerRef`.',
        'Secret',
      ),
    },
    {
      rules: [
        rule(
          '!(has(self.issuerRef) && has(self.caSecretRef))',
          'caSecretRef and issuerRef are mutually exclusive: set caSecretRef to bring your own CA, issuerRef to let ' +
            'cert-manager sign the root CA, or neither for the built-in PKI',
          { fieldPath: '.caSecretRef', reason: 'FieldValueForbidden' },
        ),
      ],
    },
  );
}

const stringList = (description: string, itemDescription: string): JSONSchemaProps =>
  array(description, string(itemDescription, { maxLength: 256 }), { maxItems: 64 });

function durationField(description: string): JSONSchemaProps {
  return string(description, { pattern: DURATION, maxLength: 32 });
}

export function certificateTemplate(description: string): JSONSchemaProps {
  return object(description, {
    metadata: object('Labels and annotations for the certificate object itself.', {
      annotations: stringMap('Annotations added to the certificate object.'),
      labels: stringMap('Labels added to the certificate object.'),
    }),
    spec: object(
      'Properties of the certificate. Values here are merged into what the operator would set by default.',
      {
        subject: object('Extra X.509 subject attributes. Lists are merged with the operator\'s own values.', {
          organizations: stringList('Organization (O) values.', 'One organization.'),
          countries: stringList('Country (C) values.', 'One country.'),
          organizationalUnits: stringList('Organizational unit (OU) values.', 'One organizational unit.'),
          localities: stringList('Locality or city (L) values.', 'One locality.'),
          provinces: stringList('State or province (ST) values.', 'One province.'),
          streetAddresses: stringList('Street address values.', 'One street address.'),
          postalCodes: stringList('Postal code values.', 'One postal code.'),
          serialNumber: string('Subject serial number attribute.', { maxLength: 64 }),
        }),
        issuerRef: issuerRef(
          'A cert-manager issuer for this one certificate, instead of the installation\'s own CA. When set, ' +
            '`dnsNames` replaces the default host names instead of being merged with them.',
        ),
        dnsNames: array(
          'Additional DNS subject alternative names, merged with the ones the operator sets ' +
            '(replacing them when `issuerRef` is set). Wildcards like `*.example.com` are allowed.',
          string('One DNS name.', { pattern: DNS_SAN, maxLength: 253 }),
          { maxItems: 64 },
        ),
        ipAddresses: array(
          'Additional IP subject alternative names, merged with the ones the operator sets.',
          string('One IPv4 or IPv6 address.', { pattern: IP_ADDRESS_CHARS, maxLength: 45, rules: [
            rule('isIP(self)', 'must be an IPv4 or IPv6 address, for example 10.0.0.1 or fd00::1'),
          ] }),
          { maxItems: 64 },
        ),
        secretTemplate: object('Labels and annotations for the Secret the certificate is stored in.', {
          annotations: stringMap('Annotations added to the certificate\'s Secret.'),
          labels: stringMap('Labels added to the certificate\'s Secret.'),
        }),
        duration: durationField(
          'Requested lifetime of the certificate as a Go duration, for example `8760h` (one year). ' +
            'Defaults to 10 years for CAs and 1 year for other certificates.',
        ),
        renewBefore: durationField(
          'How long before expiry the certificate is renewed, as a Go duration, for example `168h`. ' +
            'Defaults to 30 days for CAs and 7 days for other certificates. Must be shorter than `duration`.',
        ),
        privateKey: object(
          'Private key settings.',
          {
            rotationPolicy: string(
              '`Never` keeps the existing private key when the certificate is renewed; `Always` generates a new one. ' +
                'Defaults to `Never`.',
              { enum: ['Never', 'Always'] },
            ),
            encoding: string('PEM encoding of the private key: `PKCS1` or `PKCS8`. Defaults to `PKCS1` (PKCS8 for Ed25519).', {
              enum: ['PKCS1', 'PKCS8'],
            }),
            algorithm: string('Key algorithm: `RSA`, `ECDSA` or `Ed25519`.', { enum: ['RSA', 'ECDSA', 'Ed25519'] }),
            size: integer(
              'Key size in bits: 2048 to 8192 for RSA (default 2048), 256, 384 or 521 for ECDSA (default 256); ' +
                'ignored for Ed25519. 0 means the default.',
              { minimum: 0, maximum: 8192 },
            ),
          },
          {
            rules: [
              rule(
                '!has(self.size) || self.size == 0 || (has(self.algorithm) && self.algorithm == "Ed25519") || ' +
                  '((!has(self.algorithm) || self.algorithm == "RSA") ? self.size >= 2048 : self.size in [256, 384, 521])',
                'size does not fit the algorithm: RSA keys are 2048 to 8192 bits, ECDSA keys 256, 384 or 521 bits',
                { fieldPath: '.size' },
              ),
            ],
          },
        ),
      },
      {
        rules: [
          rule(
            `!has(self.duration) || !${celIsDuration('self.duration')} || duration(self.duration) > duration('0s')`,
            'duration must be longer than 0s',
            { fieldPath: '.duration' },
          ),
          rule(
            `!has(self.duration) || !has(self.renewBefore) || !${celIsDuration('self.duration')} || ` +
              `!${celIsDuration('self.renewBefore')} || duration(self.renewBefore) < duration(self.duration)`,
            'renewBefore must be shorter than duration, or the certificate would be renewed as soon as it is issued',
            { fieldPath: '.renewBefore' },
          ),
        ],
      },
    ),
  });
}

export function certificateTemplates(description: string): JSONSchemaProps {
  const allowed = CERTIFICATE_TEMPLATE_KEYS.map((k) => `'${k}'`).join(', ');
  return map(
    `${description} Keys name a certificate (${CERTIFICATE_TEMPLATE_KEYS.filter((k) => !k.endsWith('-ca')).join(', ')}) ` +
      `or a CA (${CERTIFICATE_TEMPLATE_KEYS.filter((k) => k.endsWith('-ca')).join(', ')}).`,
    certificateTemplate('Template for the certificate or CA named by the key.'),
    {
      maxProperties: CERTIFICATE_TEMPLATE_KEYS.length,
      rules: [
        // A messageExpression naming the offending key would be better, but map keys have no
        // maxLength, so the API server estimates any string built from them as too costly.
        rule(
          `self.all(k, k in [${allowed}])`,
          `keys must name a known certificate or CA: ${CERTIFICATE_TEMPLATE_KEYS.join(', ')}`,
        ),
      ],
    },
  );
}
