// The Node/V8 flags the sidecar runs with wherever this project starts it: deploy/ and the Helm
// chart (the container's command), the local runtime (make dev, the tests) and the benchmarks. A
// unit test keeps the manifests equal to this list.
//
// The young generation is fixed at 8 MiB per semi-space (16 MiB committed), from the start:
// - Fixed, because a young generation that grows into V8's default maximum (16 MiB per
//   semi-space) under churn read as 215–237 MiB/h of RSS growth in 15-minute soaks with a flat
//   live heap. Fixed at 16 it held 11.1–13.2 MiB/h over 40-minute soaks; fixed at 8, 12.5 MiB/h,
//   at 93–108 MiB against 113–126 (test/bench/results/soak.md).
// - 8 rather than 16: RSS after 1,000 sources × 10 namespaces 117–127 MiB against 132–141, at
//   10,000 × 10 282 against 314 MiB, for 6 % more CPU there (test/bench/results/sync-scale.md).
// - Not smaller: a 4 MiB cap promoted the bursts of 10,000 × 10 into an old space V8 kept
//   committed, 77–170 MiB more.
//
// The old generation may grow to 1.5 × what survived the last full collection before the next one
// (--heap-growing-percent=50), where V8 otherwise picks a factor of up to 4 from its GC and
// allocation speeds. At 10,000 sources × 10 namespaces (a live heap of 76–82 MiB) the old space
// then stays committed close to what it uses: peaks 223–253 MiB against 244–304, a restart with
// everything present 218 against 328, RSS at rest 151–165 against 154–223 (the memory reducer
// evens out the rest when it compacts). CPU to converge moved by -21 % to +18 % between pairs,
// within the run-to-run spread; a 40-minute soak held 13.7 MiB/h (test/bench/results/
// sync-scale.md, soak.md).
export const SIDECAR_NODE_FLAGS: readonly string[] = ['--min-semi-space-size=8', '--max-semi-space-size=8', '--heap-growing-percent=50'];
