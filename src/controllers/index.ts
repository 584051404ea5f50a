// The operator's controllers, registered on a Manager with one shared context (informers, field
// manager, event recorder). This list is the one place that wires them.
import type { Manager } from '../kube/manager.js';
import { controllerContext, DEFAULT_SETTINGS, type ControllerContext, type OperatorSettings } from './context.js';
import { setupCacheServerController } from './cacheserver.js';
import { watchComponentDeletions } from './component-metrics.js';
import { setupFrontProxyController } from './frontproxy.js';
import { setupKubeconfigController } from './kubeconfig.js';
import { setupRootShardController } from './rootshard.js';
import { setupShardController } from './shard.js';
import { setupVirtualWorkspaceController } from './virtualworkspace.js';

export type { OperatorSettings };

export type ControllerSetup = (manager: Manager, settings: OperatorSettings, ctx: ControllerContext) => void;

export const controllerSetups: readonly ControllerSetup[] = [
  setupRootShardController,
  setupShardController,
  setupFrontProxyController,
  setupCacheServerController,
  setupKubeconfigController,
  setupVirtualWorkspaceController,
];

export function registerControllers(manager: Manager, settings: Partial<OperatorSettings> = {}): ControllerContext {
  const full = { ...DEFAULT_SETTINGS, ...settings };
  const ctx = controllerContext(manager, full);
  for (const setup of controllerSetups) setup(manager, full, ctx);
  watchComponentDeletions(ctx);
  return ctx;
}
