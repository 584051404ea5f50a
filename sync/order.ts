// The order of names in statuses, plans and printed plans: by UTF-16 code unit, as Go's
// sort.Strings orders them. localeCompare would depend on the process's locale and load ICU's
// collation data (4 MiB of resident memory in a bare node, 2 MiB in the sidecar at 1,000 sources ×
// 10 namespaces: test/bench/results/sync-scale.md); for Kubernetes names
// (lowercase letters, digits, '-' and '.') the two orders agree (order.test.ts), so statuses
// written before keep their order.
export const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
