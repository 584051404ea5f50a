// The certificates a test control plane needs: a serving CA and certificate for 127.0.0.1, a
// client CA with an admin in system:masters, and the service-account key pair.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateKeyPair } from '../src/pki/keys.js';
import { selfSigned, signCertificate } from '../src/pki/x509.js';

export interface ClientCert {
  certPem: string;
  keyPem: string;
}

export interface ControlPlanePki {
  caPem: string;
  clientCaPem: string;
  clientCaKeyPem: string;
  admin: ClientCert;
  files: {
    servingCert: string;
    servingKey: string;
    clientCa: string;
    saPublic: string;
    saPrivate: string;
  };
}

const YEAR = 365 * 24 * 3600_000;

/** `servingIps`: further addresses the API server is reached at (besides loopback). */
export async function createControlPlanePki(dir: string, servingIps: readonly string[] = []): Promise<ControlPlanePki> {
  const [caKey, servingKey, clientCaKey, adminKey, saKey] = await Promise.all([
    generateKeyPair({ algorithm: 'ECDSA' }),
    generateKeyPair({ algorithm: 'ECDSA' }),
    generateKeyPair({ algorithm: 'ECDSA' }),
    generateKeyPair({ algorithm: 'ECDSA' }),
    generateKeyPair({ algorithm: 'RSA', size: 2048 }),
  ]);
  const notAfter = new Date(Date.now() + YEAR);
  const caPem = await signCertificate(
    { subject: { commonName: 'test-control-plane-ca' }, publicKey: caKey.publicKey, isCA: true, notAfter },
    selfSigned(caKey.privateKey),
  );
  const servingPem = await signCertificate(
    {
      subject: { commonName: 'kube-apiserver' },
      publicKey: servingKey.publicKey,
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
      ipAddresses: ['127.0.0.1', '::1', '10.96.0.1', ...servingIps],
      extKeyUsages: ['serverAuth'],
      notAfter,
    },
    { certificatePem: caPem, privateKey: caKey.privateKey },
  );
  const clientCaPem = await signCertificate(
    { subject: { commonName: 'test-control-plane-client-ca' }, publicKey: clientCaKey.publicKey, isCA: true, notAfter },
    selfSigned(clientCaKey.privateKey),
  );
  const adminPem = await signCertificate(
    {
      subject: { commonName: 'admin', organizations: ['system:masters'] },
      publicKey: adminKey.publicKey,
      extKeyUsages: ['clientAuth'],
      notAfter,
    },
    { certificatePem: clientCaPem, privateKey: clientCaKey.privateKey },
  );
  const files = {
    servingCert: path.join(dir, 'serving.crt'),
    servingKey: path.join(dir, 'serving.key'),
    clientCa: path.join(dir, 'client-ca.crt'),
    saPublic: path.join(dir, 'sa.pub'),
    saPrivate: path.join(dir, 'sa.key'),
  };
  await Promise.all([
    writeFile(files.servingCert, servingPem + caPem),
    writeFile(files.servingKey, servingKey.privateKeyPem, { mode: 0o600 }),
    writeFile(files.clientCa, clientCaPem),
    writeFile(files.saPublic, saKey.publicKeyPem),
    writeFile(files.saPrivate, saKey.privateKeyPem, { mode: 0o600 }),
  ]);
  return {
    caPem,
    clientCaPem,
    clientCaKeyPem: clientCaKey.privateKeyPem,
    admin: { certPem: adminPem, keyPem: adminKey.privateKeyPem },
    files,
  };
}

/** A client certificate from the control plane's client CA, e.g. for a user in some groups. */
export async function issueClientCert(pki: ControlPlanePki, user: string, groups: string[] = []): Promise<ClientCert> {
  const key = await generateKeyPair({ algorithm: 'ECDSA' });
  const certPem = await signCertificate(
    { subject: { commonName: user, organizations: groups }, publicKey: key.publicKey, extKeyUsages: ['clientAuth'] },
    { certificatePem: pki.clientCaPem, privateKey: pki.clientCaKeyPem },
  );
  return { certPem, keyPem: key.privateKeyPem };
}
