// The Node/V8 flags the sidecar runs with wherever this project starts it: deploy/ and the Helm
// chart (the container's command), the local runtime (make dev, the tests) and the benchmarks. A
// unit test keeps the manifests equal to this list.
//
// --max-semi-space-size=4: V8 sizes its young generation up to 16 MiB per semi-space for the
// sidecar's bursts of short-lived objects (watch events, planned replicas) and keeps it. At 1,000
// sources × 10 namespaces that was 32 MiB of a 125 MiB RSS; capped at 4 MiB the RSS was 109–111 MiB
// for 3 % more CPU (test/bench/results/sync-scale.md, 2026-12-02). A cap of 2 cost 13 % CPU.
export const SIDECAR_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];
