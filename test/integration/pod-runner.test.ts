// The pod runner on real workloads: etcd and kube-apiserver run as Pods from Deployments, each in
// its own network namespace. kube-apiserver finds etcd by its Service name (through the /etc/hosts
// the runner writes) and serves with a certificate from a mounted Secret; readiness probes become
// the Deployments' status; a changed Secret restarts the Pod that mounts it; stopping the runner
// leaves no namespace, bridge, process or mount point behind. (kcp itself cannot be built here;
// these are the same mechanics the kcp e2e tests need.)
import https from 'node:https';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Deployments, Namespaces, Secrets, Services } from '../../src/kube/resources.js';
import { generateKeyPair } from '../../src/pki/keys.js';
import { selfSigned, signCertificate } from '../../src/pki/x509.js';
import { versions } from '../../local/binaries.js';
import { startControlPlane, type ControlPlane } from '../../local/control-plane.js';
import { listNetns } from '../../local/pods/network.js';
import { PodRunner } from '../../local/pods/runner.js';
import { podDeployment } from './pod-fixtures.js';
import { eventually } from './helpers.js';

const NS = 'apps';
const b64 = (s: string) => Buffer.from(s).toString('base64');

async function certs(dnsName: string) {
  const caKey = await generateKeyPair({ algorithm: 'ECDSA' });
  const ca = await signCertificate({ subject: { commonName: 'pods-ca' }, publicKey: caKey.publicKey, isCA: true }, selfSigned(caKey.privateKey));
  const key = await generateKeyPair({ algorithm: 'ECDSA' });
  const crt = await signCertificate({ subject: { commonName: 'apiserver' }, publicKey: key.publicKey, dnsNames: [dnsName], extKeyUsages: ['serverAuth'] }, { certificatePem: ca, privateKey: caKey.privateKey });
  const sa = await generateKeyPair({ algorithm: 'RSA', size: 2048 });
  return { ca, data: { 'tls.crt': b64(crt + ca), 'tls.key': b64(key.privateKeyPem), 'sa.pub': b64(sa.publicKeyPem), 'sa.key': b64(sa.privateKeyPem) } };
}

const deployment = (name: string, image: string, command: string[], args: string[], probe: Record<string, unknown>, volumes: Array<[string, Record<string, unknown>, string]>): KubeObject =>
  podDeployment(NS, name, { image, command, args, readinessProbe: { ...probe, periodSeconds: 1 } }, volumes);

const service = (name: string, port: number): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: NS },
  spec: { selector: { app: name }, ports: [{ name: 'p', port, targetPort: port }] },
});

function getReadyz(ip: string, ca: string, servername: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: ip, port: 6443, path: '/readyz', ca, servername, timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

describe('pod runner', () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  let runner: PodRunner;
  let ca: string;
  const apiserverHost = `apiserver.${NS}.svc.cluster.local`;

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'pods', crds: false });
    admin = await cp.client('pod-runner-test');
    await admin.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    const c = await certs(apiserverHost);
    ca = c.ca;
    await admin.create(Secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'apiserver-certs', namespace: NS }, data: c.data });
    const etcdVersion = versions().ETCD_VERSION ?? '';
    await admin.create(Services, service('etcd', 2379));
    await admin.create(Services, service('apiserver', 6443));
    await admin.create(
      Deployments,
      deployment(
        'etcd',
        `quay.io/coreos/etcd:${etcdVersion}`,
        ['etcd'],
        [
          '--listen-client-urls=http://0.0.0.0:2379',
          `--advertise-client-urls=http://etcd.${NS}.svc.cluster.local:2379`,
          '--listen-peer-urls=http://127.0.0.1:2380',
          '--initial-advertise-peer-urls=http://127.0.0.1:2380',
          '--initial-cluster=default=http://127.0.0.1:2380',
          '--data-dir=/var/lib/kpr-test-etcd/data',
          '--unsafe-no-fsync=true',
        ],
        { httpGet: { path: '/health', port: 2379, scheme: 'HTTP' } },
        [['data', { emptyDir: {} }, '/var/lib/kpr-test-etcd']],
      ),
    );
    await admin.create(
      Deployments,
      deployment(
        'apiserver',
        `registry.k8s.io/kube-apiserver:${versions().KUBERNETES_VERSION}`,
        ['kube-apiserver'],
        [
          `--etcd-servers=http://etcd.${NS}.svc.cluster.local:2379`,
          '--secure-port=6443',
          '--tls-cert-file=/etc/kpr-test-apiserver/tls.crt',
          '--tls-private-key-file=/etc/kpr-test-apiserver/tls.key',
          '--service-account-issuer=https://apiserver',
          '--service-account-key-file=/etc/kpr-test-apiserver/sa.pub',
          '--service-account-signing-key-file=/etc/kpr-test-apiserver/sa.key',
          '--service-cluster-ip-range=10.96.0.0/12',
          '--cert-dir=/var/run/kpr-test-apiserver',
          // With the default AlwaysAllow, kube-apiserver turns anonymous requests off and the
          // readiness probe (anonymous, as the kubelet's) would get 401.
          '--authorization-mode=RBAC',
        ],
        { httpGet: { path: '/readyz', port: 6443, scheme: 'HTTPS' } },
        [
          ['certs', { secret: { secretName: 'apiserver-certs' } }, '/etc/kpr-test-apiserver'],
          ['scratch', { emptyDir: {} }, '/var/run/kpr-test-apiserver'],
        ],
      ),
    );
    runner = new PodRunner(admin, { namespace: NS });
    await runner.start();
  });
  afterAll(async () => {
    await runner?.stop();
    admin?.close();
    await cp?.stop();
  });

  it('runs etcd and kube-apiserver as Pods; the API server reaches etcd by its Service name; readiness becomes Deployment status', async () => {
    const dep = await eventually('apiserver Deployment available', async () => {
      const d = await admin.get(Deployments, NS, 'apiserver');
      return (d.status as { availableReplicas?: number } | undefined)?.availableReplicas === 1 ? d : undefined;
    }, 90_000).catch((err: Error) => {
      const pods = [...runner.podsOf('etcd'), ...runner.podsOf('apiserver')];
      throw new Error(`${err.message}\n${pods.map((p) => `${JSON.stringify(p)}\n${existsSync(p.logPath) ? readFileSync(p.logPath, 'utf8').split('\n').slice(-10).join('\n') : ''}`).join('\n')}`);
    });
    expect((dep.status as { conditions: Array<{ type: string; status: string }> }).conditions).toContainEqual(expect.objectContaining({ type: 'Available', status: 'True' }));
    const [pod] = runner.podsOf('apiserver');
    expect(pod?.ip).toMatch(/^10\.213\.\d+\.\d+$/);
    // The serving certificate came from the mounted Secret and verifies for the Service name.
    expect(await getReadyz(pod?.ip ?? '', ca, apiserverHost)).toBe(200);
    expect(listNetns().filter((n) => n.startsWith(`kpr${process.pid}-`))).toHaveLength(2);
    // Mount points exist only inside the Pods' mount namespaces, never on the host.
    expect(existsSync('/etc/kpr-test-apiserver')).toBe(false);
    expect(existsSync('/var/lib/kpr-test-etcd')).toBe(false);
  });

  it('restarts the Pod when a Secret it mounts changes', async () => {
    const [before] = runner.podsOf('apiserver');
    const c = await certs(apiserverHost);
    await admin.patch(Secrets, NS, 'apiserver-certs', { data: c.data }, 'merge');
    const after = await eventually('new pod ready', () => {
      const [p] = runner.podsOf('apiserver');
      return p && p.pid !== before?.pid && p.ready ? p : undefined;
    }, 90_000);
    expect(after.name).not.toBe(before?.name);
    expect(await getReadyz(after.ip ?? '', c.ca, apiserverHost)).toBe(200);
    await expect(getReadyz(after.ip ?? '', ca, apiserverHost)).rejects.toThrow(); // the old CA no longer matches
  });

  it('cleans up everything it started', async () => {
    const pids = [...runner.podsOf('etcd'), ...runner.podsOf('apiserver')].map((p) => p.pid);
    await runner.stop();
    expect(listNetns().filter((n) => n.startsWith(`kpr${process.pid}-`))).toEqual([]);
    for (const pid of pids) {
      let alive = true;
      try {
        process.kill(pid ?? -1, 0);
      } catch {
        alive = false;
      }
      expect(alive).toBe(false);
    }
    expect(existsSync('/etc/kpr-test-apiserver')).toBe(false);
    expect(existsSync('/var/lib/kpr-test-etcd')).toBe(false);
  });
});
