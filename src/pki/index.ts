export * from './errors.js';
export * from './keys.js';
export * from './x509.js';
export { splitPemCertificates, derToPem } from './pem.js';
export { normalizeIp } from './ip.js';
