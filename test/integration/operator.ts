// Runs the operator in-process against the shared control plane, scoped to one namespace, with
// its own client (so its requests can be counted apart from the test's).
import { randomBytes } from 'node:crypto';
import type { RestConfig } from '../../src/kube/kubeconfig.js';
import { registerControllers } from '../../src/controllers/index.js';
import type { ControllerContext, OperatorSettings } from '../../src/controllers/context.js';
import { KubeClient } from '../../src/kube/client.js';
import { createLogger } from '../../src/kube/log.js';
import { Manager } from '../../src/kube/manager.js';
import { sharedKubeConfig } from './helpers.js';

export interface RunningOperator {
  manager: Manager;
  ctx: ControllerContext;
  client: KubeClient;
  userAgent: string;
  stop(): Promise<void>;
}

export async function startOperator(
  settings: Partial<OperatorSettings> & Pick<OperatorSettings, 'namespace'>,
  kubeConfig: RestConfig = sharedKubeConfig(),
): Promise<RunningOperator> {
  const userAgent = `operator-it-${randomBytes(3).toString('hex')}`;
  const client = await KubeClient.fromKubeConfig(kubeConfig, { userAgent, qps: 0 });
  const manager = new Manager({ client, logger: createLogger({ name: 'operator-it', level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
  const ctx = registerControllers(manager, settings);
  await manager.start();
  return { manager, ctx, client, userAgent, stop: () => manager.stop() };
}
