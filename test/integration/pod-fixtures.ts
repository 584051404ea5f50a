// Pods the pod-runner tests run: a single-member etcd (a real server with an HTTP health endpoint),
// its data in an emptyDir mounted at `dataRoot`.
import type { KubeObject } from '../../src/kube/object.js';

export function etcdDeployment(ns: string, name: string, opts: { dataRoot: string; probe?: Record<string, unknown> }): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name,
              image: 'etcd',
              command: ['etcd'],
              args: [
                '--listen-client-urls=http://0.0.0.0:2379',
                '--advertise-client-urls=http://127.0.0.1:2379',
                '--listen-peer-urls=http://127.0.0.1:2380',
                '--initial-advertise-peer-urls=http://127.0.0.1:2380',
                '--initial-cluster=default=http://127.0.0.1:2380',
                `--data-dir=${opts.dataRoot}/data`,
                '--unsafe-no-fsync=true',
              ],
              ...(opts.probe ? { readinessProbe: { ...opts.probe, periodSeconds: 1 } } : {}),
              volumeMounts: [{ name: 'data', mountPath: opts.dataRoot }],
            },
          ],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      },
    },
  };
}
