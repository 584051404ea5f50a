import { defineConfig } from 'vitest/config';

// Four tiers (DESIGN.md §8). Integration tests share one control plane per run, started by the
// globalSetup; tests that need more clusters start their own through local/. Each e2e file runs a
// whole local stack with real kcp Pods, one file at a time (the machine has 2 cores).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'sync/**/*.test.ts', 'hack/**/*.test.ts', 'test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/env/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // Each e2e file starts its own local stack (local/stack.ts): no shared control plane.
          testTimeout: 600_000,
          hookTimeout: 600_000,
          maxWorkers: 1,
        },
      },
      {
        test: {
          // Faults on purpose (issue 14): kills, API server outages, partitions, fuzzed and corrupted
          // input. One file at a time, so that a fault injected by one does not land on another.
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          globalSetup: ['test/env/global-setup.ts'],
          testTimeout: 900_000,
          hookTimeout: 600_000,
          maxWorkers: 1,
        },
      },
    ],
  },
});
