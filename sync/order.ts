// The order of names in statuses, plans and printed plans: by UTF-16 code unit, as Go's
// sort.Strings orders them. localeCompare would depend on the process's locale and load ICU's
// collation data (about 4 MiB more resident memory in a bare node); for Kubernetes names
// (lowercase letters, digits, '-' and '.') the two orders agree (order.test.ts), so statuses
// written before keep their order.
export const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
