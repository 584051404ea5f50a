// Pods the pod-runner tests run, and a look at their processes: a one-container Deployment
// (`app: <name>`), a single-member etcd in it (a real server with an HTTP health endpoint, its data
// in an emptyDir mounted at `dataRoot`), and the container's own process.
import { readdirSync, readFileSync } from 'node:fs';
import type { KubeObject } from '../../src/kube/object.js';

/** One container `name`, with `volumes` as [volume, source, mountPath]. */
export function podDeployment(ns: string, name: string, container: Record<string, unknown>, volumes: Array<[string, Record<string, unknown>, string]> = []): KubeObject {
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
          containers: [{ name, ...container, volumeMounts: volumes.map(([v, , mountPath]) => ({ name: v, mountPath })) }],
          volumes: volumes.map(([v, source]) => ({ name: v, ...source })),
        },
      },
    },
  };
}

export function etcdDeployment(ns: string, name: string, opts: { dataRoot: string; probe?: Record<string, unknown> }): KubeObject {
  const args = [
    '--listen-client-urls=http://0.0.0.0:2379',
    '--advertise-client-urls=http://127.0.0.1:2379',
    '--listen-peer-urls=http://127.0.0.1:2380',
    '--initial-advertise-peer-urls=http://127.0.0.1:2380',
    '--initial-cluster=default=http://127.0.0.1:2380',
    `--data-dir=${opts.dataRoot}/data`,
    '--unsafe-no-fsync=true',
  ];
  const probe = opts.probe ? { readinessProbe: { ...opts.probe, periodSeconds: 1 } } : {};
  return podDeployment(ns, name, { image: 'etcd', command: ['etcd'], args, ...probe }, [['data', { emptyDir: {} }, opts.dataRoot]]);
}

/** The container's own process: the child of the Pod's reaper (the reaper also forks `sleep`). */
export function containerPid(reaper: number | undefined, comm: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(readFileSync(`/proc/${d}/stat`, 'utf8'));
      if (m && Number(m[2]) === reaper && m[1] === comm) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}
