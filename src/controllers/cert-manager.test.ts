import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/object.js';
import { rootShardCertificates } from '../pki/hierarchy.js';
import { conflictingCertificates } from './cert-manager.js';

const certificate = (name: string, secretName: string): KubeObject => ({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name, namespace: 'ns' }, spec: { secretName } });

describe('conflictingCertificates', () => {
  it('names the Certificates that write Secrets we issue, sorted', () => {
    const plans = rootShardCertificates({ name: 'root', namespace: 'ns', externalHostname: 'kcp.example.test' });
    const certs = [certificate('root-server', 'root-server'), certificate('other', 'someone-elses'), certificate('root-ca', 'root-ca')];
    expect(conflictingCertificates(certs, plans)).toEqual(['root-ca', 'root-server']);
  });

  it('leaves out the root CA a RootShard asks cert-manager for (certificates.issuerRef)', () => {
    const plans = rootShardCertificates({ name: 'root', namespace: 'ns', externalHostname: 'kcp.example.test', issuerRef: { name: 'selfsigned' } });
    expect(conflictingCertificates([certificate('root-ca', 'root-ca'), certificate('root-client-ca', 'root-client-ca')], plans)).toEqual(['root-client-ca']);
  });
});
