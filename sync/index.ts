// What other code (the operator) may use from the sidecar: the keys and the pure helpers that mark
// objects as sources or accepting namespaces. Nothing here starts anything.
export * from './keys.js';
export { acceptMarks, sourceMarks, withMarks, type Marks, type SyncTargets } from './marks.js';
export { localRbac, remoteRbac, LOCAL_RULES, READER_RULES, WRITER_RULES, SOURCE_RULES, LEASE_RULES, REMOTE_RULES } from './rbac.js';
