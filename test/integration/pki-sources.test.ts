// Where the root CA comes from: a CA the user brings (caSecretRef), or cert-manager (issuerRef).
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RootShards } from '../../src/controllers/context.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { CustomResourceDefinitions, Namespaces, Secrets, type ResourceType } from '../../src/kube/resources.js';
import { generateKeyPair } from '../../src/pki/keys.js';
import { selfSigned, signCertificate } from '../../src/pki/x509.js';
import { startControlPlane, type ControlPlane } from '../../local/control-plane.js';
import { createNamespace, eventually, sharedClient } from './helpers.js';
import { startOperator } from './operator.js';

type Cond = { type: string; status: string; reason: string };
const condition = (o: KubeObject, type: string) => ((o.status as { conditions?: Cond[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
const b64 = (s: string) => Buffer.from(s).toString('base64');
const pemOf = (s: KubeObject, k = 'tls.crt') => Buffer.from((s.data as Record<string, string>)[k] ?? '', 'base64').toString();

async function caSecret(name: string, namespace: string): Promise<KubeObject> {
  const key = await generateKeyPair({ algorithm: 'ECDSA' });
  const crt = await signCertificate({ subject: { commonName: name }, publicKey: key.publicKey, isCA: true }, selfSigned(key.privateKey));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(crt), 'tls.key': b64(key.privateKeyPem), 'ca.crt': b64(crt) },
  };
}

const rootShard = (name: string, namespace: string, certificates: Record<string, unknown>): KubeObject => ({
  apiVersion: 'operator.kcp.io/v1alpha1',
  kind: 'RootShard',
  metadata: { name, namespace },
  spec: { external: { hostname: 'kcp.example.com', port: 6443 }, cache: {}, etcd: { endpoints: ['http://etcd:2379'] }, certificates },
});

describe('root CA sources', () => {
  let client: KubeClient;
  beforeAll(async () => {
    client = await sharedClient('pki-sources-test');
  });
  afterAll(() => client?.close());

  it('builds the hierarchy under a CA the user brings, and never touches it', async () => {
    const ns = await createNamespace(client, 'byo');
    const op = await startOperator({ namespace: ns });
    try {
      const mine = await client.create(Secrets, await caSecret('my-ca', ns));
      await client.create(RootShards, rootShard('byo', ns, { caSecretRef: { name: 'my-ca' } }));
      const intermediates = ['byo-server-ca', 'byo-client-ca', 'byo-requestheader-client-ca', 'byo-service-account-ca'];
      await eventually('intermediates', async () => (await Promise.all(intermediates.map((n) => client.get(Secrets, ns, n)))).length === 4);
      const root = new X509Certificate(pemOf(mine));
      for (const n of intermediates) {
        expect(new X509Certificate(pemOf(await client.get(Secrets, ns, n))).verify(root.publicKey), n).toBe(true);
      }
      await expect(client.get(Secrets, ns, 'byo-ca')).rejects.toThrow();
      const after = await client.get(Secrets, ns, 'my-ca');
      expect(after.metadata.resourceVersion).toBe(mine.metadata.resourceVersion);
      const rs = await eventually('certificates ready', async () => {
        const o = await client.get(RootShards, ns, 'byo');
        return condition(o, 'CertificatesReady')?.status === 'True' ? o : undefined;
      });
      expect(rs.metadata.name).toBe('byo');
    } finally {
      await op.stop();
    }
  });

  it('says so when the CA the user names does not exist', async () => {
    const ns = await createNamespace(client, 'byo-missing');
    const op = await startOperator({ namespace: ns });
    try {
      await client.create(RootShards, rootShard('byo', ns, { caSecretRef: { name: 'absent' } }));
      const o = await eventually('condition', async () => {
        const r = await client.get(RootShards, ns, 'byo');
        return condition(r, 'CertificatesReady')?.reason === 'SecretMissing' ? r : undefined;
      });
      expect(((o.status as { conditions: Array<{ type: string; message: string }> }).conditions.find((c) => c.type === 'CertificatesReady'))?.message).toMatch(/absent.*caSecretRef/);
    } finally {
      await op.stop();
    }
  });

  describe('with cert-manager', () => {
    let cp: ControlPlane;
    beforeAll(async () => {
      cp = await startControlPlane({ name: 'certmanager' });
    });
    afterAll(async () => cp?.stop());

    it('requests the root CA through a cert-manager Certificate and builds the rest itself', async () => {
      const admin = await cp.client('cert-manager-test');
      // cert-manager's Certificate API, without its controller: the test plays cert-manager.
      await admin.apply(
        CustomResourceDefinitions,
        {
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: 'certificates.cert-manager.io' },
          spec: {
            group: 'cert-manager.io',
            names: { kind: 'Certificate', plural: 'certificates', singular: 'certificate', listKind: 'CertificateList' },
            scope: 'Namespaced',
            versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
          },
        },
        'test',
      );
      const Certificates: ResourceType = { group: 'cert-manager.io', version: 'v1', kind: 'Certificate', plural: 'certificates', namespaced: true };
      await eventually('CRD served', async () => (await admin.list(Certificates)).items !== undefined);
      await admin.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'cm' } });
      const op = await startOperator({ namespace: 'cm' }, cp.kubeConfig());
      try {
        await admin.create(RootShards, rootShard('rs', 'cm', { issuerRef: { name: 'selfsigned', kind: 'Issuer', group: 'cert-manager.io' } }));
        const cert = await eventually('Certificate requested', () => admin.get(Certificates, 'cm', 'rs-ca'));
        expect(cert.spec).toMatchObject({ secretName: 'rs-ca', isCA: true, issuerRef: { name: 'selfsigned', kind: 'Issuer' } });
        // The status is written after the Certificate, in the same reconcile: wait for it rather than race it.
        await eventually('CertificatesReady says why', async () => condition(await admin.get(RootShards, 'cm', 'rs'), 'CertificatesReady')?.reason === 'WaitingForCertManager');
        // cert-manager issues the Secret; the operator takes it from there.
        await admin.create(Secrets, await caSecret('rs-ca', 'cm'));
        await eventually('intermediates under the cert-manager CA', () => admin.get(Secrets, 'cm', 'rs-client-ca'), 20_000);
      } finally {
        await op.stop();
        admin.close();
      }
    });
  });
});
