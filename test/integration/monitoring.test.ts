// The metrics the alerts in deploy/monitoring/ need, exported by the operator running in-process
// against the real API server: a RootShard's certificates (notAfter and renewal time per Secret,
// CA or not), its availability flipping with its Deployment, and every series of it removed once
// it is deleted. Nothing here runs kcp; the test sets the Deployment's status, standing in for
// kube-controller-manager. The registry read is the one /metrics serves.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RootShards } from '../../src/controllers/context.js';
import type { KubeClient } from '../../src/kube/client.js';
import { registry } from '../../src/kube/metrics.js';
import { Deployments, Secrets } from '../../src/kube/resources.js';
import { createNamespace, eventually, sharedClient } from './helpers.js';
import { builtInPkiRootShard, markDeploymentAvailable } from './fixtures.js';
import { startOperator, type RunningOperator } from './operator.js';

const RS = 'shard-sample';

/** `name{labels} value` lines of the exposition format, for one namespace. */
async function scrape(ns: string): Promise<Array<{ name: string; labels: Record<string, string>; value: number }>> {
  const text = await registry.metrics();
  return text
    .split('\n')
    .filter((l) => l.startsWith('kcp_operator_') && l.includes(`namespace="${ns}"`))
    .map((l) => {
      const m = /^(\w+)\{(.*)\} (\S+)$/.exec(l);
      if (!m) throw new Error(`unparsable line ${l}`);
      const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      return { name: m[1] ?? '', labels, value: Number(m[3]) };
    });
}

describe('monitoring metrics', () => {
  let client: KubeClient;
  let op: RunningOperator;
  let ns: string;
  beforeAll(async () => {
    client = await sharedClient('monitoring-test');
    ns = await createNamespace(client, 'monitoring');
    op = await startOperator({ namespace: ns });
    await client.create(RootShards, builtInPkiRootShard(ns));
  });
  afterAll(async () => {
    await op?.stop();
    client?.close();
  });

  it("exports each certificate Secret's notAfter and renewal time, CAs marked", async () => {
    const series = await eventually('root CA and server certificate series', async () => {
      const s = (await scrape(ns)).filter((x) => x.name === 'kcp_operator_certificate_expiry_timestamp_seconds');
      return s.some((x) => x.labels.secret === `${RS}-ca`) && s.some((x) => x.labels.secret === `${RS}-server`) ? s : undefined;
    }, 60_000);
    for (const secret of [`${RS}-ca`, `${RS}-server`]) {
      const pem = Buffer.from(((await client.get(Secrets, ns, secret)).data as Record<string, string>)['tls.crt'] ?? '', 'base64');
      const notAfter = Date.parse(new X509Certificate(pem).validTo) / 1000;
      const s = series.find((x) => x.labels.secret === secret);
      expect(s?.labels.ca).toBe(secret.endsWith('-ca') ? 'true' : 'false');
      expect(s?.value).toBe(notAfter);
    }
    const renewal = (await scrape(ns)).find((x) => x.name === 'kcp_operator_certificate_renewal_timestamp_seconds' && x.labels.secret === `${RS}-server`);
    const expiry = series.find((x) => x.labels.secret === `${RS}-server`)?.value ?? 0;
    expect(renewal?.value).toBeGreaterThan(Date.now() / 1000);
    expect(renewal?.value).toBeLessThan(expiry);
  });

  it('reports the RootShard unavailable, then available once its Deployment is', async () => {
    const available = async () =>
      (await scrape(ns)).find((x) => x.name === 'kcp_operator_component_available' && x.labels.kind === 'RootShard' && x.labels.name === RS)?.value;
    await eventually('available 0', async () => (await available()) === 0, 60_000);
    await eventually('Deployment', () => client.get(Deployments, ns, `${RS}-kcp`), 30_000);
    await markDeploymentAvailable(client, ns, `${RS}-kcp`);
    await eventually('available 1', async () => (await available()) === 1, 60_000);
  });

  it('removes every series of the RootShard once it is deleted', async () => {
    expect((await scrape(ns)).length).toBeGreaterThan(2);
    await client.delete(RootShards, ns, RS);
    await eventually('no series left', async () => (await scrape(ns)).length === 0, 60_000);
  });
});
