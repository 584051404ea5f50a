// The Node/V8 flags the sidecar runs with wherever this project starts it: deploy/ and the Helm
// chart (the container's command), the local runtime (make dev, the tests) and the benchmarks. A
// unit test keeps the manifests equal to this list.
//
// --min-semi-space-size=16: the young generation starts at the size V8 grows it to anyway (16 MiB
// per semi-space, its default maximum) instead of growing into it over the first tens of minutes
// under churn, which read as 215–237 MiB/h of RSS growth in the 15-minute soak with a flat live
// heap (with it: 11.1–13.2 MiB/h over 40-minute soaks). It costs RSS right after a burst: 137–145
// MiB against 127–132 at 1,000 sources × 10 namespaces (V8 kept more old space committed); at
// 10,000 × 10 it read 319–322 MiB, on another machine than the runs without it (279–285), so not
// an A/B. A sidecar without it grows past that under sustained churn.
// The maximum stays V8's: capping it (--max-semi-space-size=4) cost 77–170 MiB at 10,000 × 10 (test/bench/results/sync-scale.md).
export const SIDECAR_NODE_FLAGS: readonly string[] = ['--min-semi-space-size=16'];
