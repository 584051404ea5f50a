export * from './errors.js';
export * from './keys.js';
export * from './x509.js';
export { splitPemCertificates, derToPem } from './pem.js';
export { normalizeIp } from './ip.js';
export * from './hierarchy.js';
export * from './bundle.js';
export * from './renewal.js';
export * from './issue.js';
