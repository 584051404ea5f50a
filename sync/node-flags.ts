// The Node/V8 flags the sidecar runs with wherever this project starts it: deploy/ and the Helm
// chart (the container's command), the local runtime (make dev, the tests) and the benchmarks. A
// unit test keeps the manifests equal to this list.
//
// None, on measurement (test/bench/results/sync-scale.md, 2026-12-02). A smaller young generation
// (--max-semi-space-size=4) took 17–19 MiB off the RSS at 1,000 sources × 10 namespaces and made
// the soak level off, but at 10,000 × 10 it promoted the bursts into an old space V8 kept: RSS 362
// after idle and 455 at peak against 285 and 285 without it, for 12 % more CPU.
export const SIDECAR_NODE_FLAGS: readonly string[] = [];
