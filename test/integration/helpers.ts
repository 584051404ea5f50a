// Shared pieces for integration tests: a client for the run's control plane and a fresh namespace.
import { randomBytes } from 'node:crypto';
import { loadKubeconfigFile, type RestConfig } from '../../src/kube/kubeconfig.js';
import { inject } from 'vitest';
import { KubeClient } from '../../src/kube/client.js';
import { Namespaces } from '../../src/kube/resources.js';

export function sharedKubeConfig(): RestConfig {
  const kc = loadKubeconfigFile(inject('kubeconfigPath'));
  return kc;
}

export function sharedClient(userAgent = `it-${randomBytes(3).toString('hex')}`): Promise<KubeClient> {
  return KubeClient.fromKubeConfig(sharedKubeConfig(), { userAgent, qps: 0 });
}

export async function createNamespace(client: KubeClient, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await client.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

/** Polls `check` until it returns a value other than undefined/false, or fails after timeoutMs. */
export async function eventually<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Waits until `measure` gives the same value at both ends of a `windowMs` pause: whatever it
 * counts (writes, say) has stopped changing. A precondition, with a generous deadline, for tests
 * that then count what one more step does; never a claim in itself.
 */
export async function quiet<T>(what: string, measure: () => T | Promise<T>, windowMs = 1000, timeoutMs = 60_000): Promise<T> {
  return eventually(
    `${what} quiet for ${windowMs} ms`,
    async () => {
      const before = JSON.stringify(await measure());
      await new Promise((r) => setTimeout(r, windowMs));
      const after = await measure();
      return JSON.stringify(after) === before ? { after } : undefined;
    },
    timeoutMs,
  ).then((v) => v.after);
}
