// operator.kcp.io/v1alpha1: the API of this operator, field-compatible with kcp-dev/kcp-operator.
//
// The schemas (the *SpecSchema/*StatusSchema builders, assembled in crds.ts) are the source of
// truth; crds/ is generated from them by hack/gen-crds.ts. The TypeScript interfaces beside them are
// written by hand for readability, and src/api/types.test.ts checks that both name the same fields
// with the same optionality.
//
// Compatibility decisions for manifests written for kcp-operator (see docs/api.md):
// - `spec.logLevel.verbosityLevel` (a pre-release name of `spec.logging.level` that kcp-operator's
//   Shard sample still carries) is accepted on RootShard and Shard as a deprecated alias, so the
//   sample applies under `kubectl apply --validate=strict` (kubectl's default). It is used only when
//   `logging.level` is unset; a CEL rule rejects the two disagreeing. Pruning it instead would
//   make strict validation reject the sample.
// - `spec.certificates` is optional on RootShard and CacheServer (kcp-operator requires it). Unset
//   or empty means the built-in PKI: the operator creates a self-signed root CA. This is what lets
//   kcp-operator's empty CacheServer sample (`spec:` with no fields) apply; CacheServer's spec
//   also defaults to `{}`.
// - `certificates.issuerRef` (cert-manager) is accepted as is; whether cert-manager is installed is
//   checked by the controller, which reports it in a status condition.
//
// This module exports the types, names and status vocabulary, which the operator needs at run
// time; the schema builders and CRD assembly live in crds.ts and the per-kind modules.
export * from './names.js';
export type * from './common.js';
export type * from './auth.js';
export type * from './certificates.js';
export type * from './templates.js';
export type * from './disruption.js';
export type * from './shard-common.js';
export type * from './rootshard.js';
export type * from './shard.js';
export type * from './federation.js';
export type * from './frontproxy.js';
export type * from './cacheserver.js';
export type * from './kubeconfig.js';
export type * from './virtualworkspace.js';
export type { Condition, CommonStatus, WorkloadPhase, KubeconfigPhase } from './status.js';
export { ConditionReason, ConditionType, KUBECONFIG_PHASES, WORKLOAD_PHASES } from './status.js';
export { DEFAULT_CLUSTER_DOMAIN, DEFAULT_IMAGE_REPOSITORY } from './common.js';
export { DEFAULT_OIDC_CA_KEY, DEFAULT_TOKEN_AUTH_FILE_KEY } from './auth.js';
export { CERTIFICATE_TEMPLATE_KEYS } from './certificates.js';
export { DEFAULT_SHARD_REPLICAS } from './shard-common.js';
export { DEFAULT_ROOT_SHARD_PROXY_REPLICAS } from './rootshard.js';
export { DEFAULT_FRONT_PROXY_REPLICAS } from './frontproxy.js';
export { DEFAULT_TARGET_WORKSPACE } from './kubeconfig.js';
export { DEFAULT_VIRTUAL_WORKSPACE_COMMAND, DEFAULT_VIRTUAL_WORKSPACE_REPLICAS } from './virtualworkspace.js';
