// The pod runner as the Deployment controller on real etcd Pods: a changed template rolls out the
// way a Deployment's defaults do (the new Pod starts beside the old one, which goes only once the
// new one is ready), so the Service keeps resolving to a ready Pod throughout; and a Service's
// ExternalDNS host name resolves like its cluster names (the runner stands in for ExternalDNS).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Deployments, Services } from '../../src/kube/resources.js';
import { EXTERNAL_DNS_HOSTNAME } from '../../local/pods/routing.js';
import { PodRunner } from '../../local/pods/runner.js';
import { createNamespace, eventually, sharedClient } from './helpers.js';

const etcd = (ns: string, extra: string[]): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: ns },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'etcd',
            command: ['etcd'],
            args: ['--listen-client-urls=http://0.0.0.0:2379', '--advertise-client-urls=http://127.0.0.1:2379', '--listen-peer-urls=http://127.0.0.1:2380', '--initial-advertise-peer-urls=http://127.0.0.1:2380', '--initial-cluster=default=http://127.0.0.1:2380', '--data-dir=/var/lib/kpr-rollout/data', '--unsafe-no-fsync=true', ...extra],
            readinessProbe: { httpGet: { path: '/health', port: 2379 }, periodSeconds: 1 },
            volumeMounts: [{ name: 'data', mountPath: '/var/lib/kpr-rollout' }],
          },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    },
  },
});

describe('pod runner: rollouts and public names', () => {
  let admin: KubeClient;
  let runner: PodRunner;
  let ns: string;

  beforeAll(async () => {
    admin = await sharedClient('pod-runner-rollout');
    ns = await createNamespace(admin, 'kpr-rollout');
    await admin.create(Services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: ns, annotations: { [EXTERNAL_DNS_HOSTNAME]: 'kcp.example.test, api.example.test.' } },
      spec: { selector: { app: 'web' }, ports: [{ port: 2379, targetPort: 2379 }] },
    });
    await admin.create(Deployments, etcd(ns, []));
    runner = new PodRunner(admin, { namespace: ns });
    await runner.start();
    await eventually('web ready', () => runner.podsOf('web')[0]?.ready, 90_000);
  });
  afterAll(async () => {
    await runner?.stop();
    admin?.close();
  });

  it('rolls a changed template out with the new Pod ready before the old one goes: the Service never stops resolving', async () => {
    const before = runner.podsOf('web').map((p) => p.name);
    let lookups = 0;
    let unresolved = 0;
    let sawBoth = false;
    let polling = true;
    const poll = (async () => {
      while (polling) {
        lookups++;
        if (!runner.resolve('web')) unresolved++;
        if (runner.podsOf('web').length === 2) sawBoth = true;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await admin.patch(Deployments, ns, 'web', { spec: etcd(ns, ['--log-level=warn']).spec }, 'merge');
    await eventually(
      'the new Pod alone, ready',
      () => {
        const pods = runner.podsOf('web');
        return pods.length === 1 && !before.includes(pods[0]?.name ?? '') && pods[0]?.ready;
      },
      120_000,
    );
    polling = false;
    await poll;
    expect(lookups).toBeGreaterThan(0);
    // Old and new ran side by side, and at no lookup was the name without a ready Pod.
    expect(sawBoth).toBe(true);
    expect(unresolved).toBe(0);
  });

  it("resolves a Service's ExternalDNS host names to its ready Pod, for Pods and host processes", async () => {
    const ip = runner.resolve('web');
    expect(ip).toMatch(/^10\./);
    await eventually('the public names in the cluster hosts file', () => {
      const hosts = readFileSync(runner.clusterDnsHostsFile(), 'utf8');
      const line = hosts.split('\n').find((l) => l.startsWith(`${ip} `)) ?? '';
      return line.split(/\s+/).includes('kcp.example.test') && line.split(/\s+/).includes('api.example.test');
    });
    const pod = runner.podsOf('web')[0];
    const podHosts = readFileSync(`${pod?.logPath.replace(/container\.log$/, '')}hosts`, 'utf8');
    expect(podHosts).toMatch(new RegExp(`^${ip?.replace(/\./g, '\\.')} .*\\bkcp\\.example\\.test\\b`, 'm'));
  });
});
