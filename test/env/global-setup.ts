// vitest globalSetup for the integration and e2e tiers: one control plane per run, shared by every
// test file (tests isolate themselves by namespace); multi-cluster tests start more themselves.
import type { TestProject } from 'vitest/node';
import { binDir } from '../../local/binaries.js';
import { startControlPlane } from '../../local/control-plane.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfigPath: string;
    binDir: string;
    auditLogPath: string;
    controlPlaneDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const t0 = Date.now();
  const cp = await startControlPlane({ name: 'shared' });
  console.log(`test/env: control plane ready at ${cp.server} in ${Date.now() - t0} ms (${cp.dir})`);
  project.provide('kubeconfigPath', cp.kubeconfigPath);
  project.provide('binDir', binDir());
  project.provide('auditLogPath', cp.auditLogPath);
  project.provide('controlPlaneDir', cp.dir);
  return () => cp.stop();
}
