// The operator's controllers, registered on a Manager. Each kind's controller lives in its own
// module; this list is the one place that wires them.
import type { Manager } from '../kube/manager.js';

export interface OperatorSettings {
  /** Watch only this namespace; undefined watches all. */
  namespace: string | undefined;
}

export type ControllerSetup = (manager: Manager, settings: OperatorSettings) => void;

export const controllerSetups: readonly ControllerSetup[] = [];

export function registerControllers(manager: Manager, settings: OperatorSettings): void {
  for (const setup of controllerSetups) setup(manager, settings);
}
