// The certificate and availability gauges on the process registry: set from what a reconcile saw,
// removed when a Secret leaves the plan or its owner is deleted (bounded labels).
import { describe, expect, it } from 'vitest';
import { certificateExpiry, certificateRenewal, componentAvailable } from '../kube/metrics.js';
import type { KubeObject } from '../kube/object.js';
import { forgetCertificates, recordCertificates } from './certificate-metrics.js';
import { forgetComponent, recordAvailability } from './component-metrics.js';

const owner = (kind: string, name: string): KubeObject => ({ apiVersion: 'operator.kcp.io/v1alpha1', kind, metadata: { name, namespace: 'ns' } });
const series = async (g: typeof certificateExpiry | typeof componentAvailable) =>
  Object.fromEntries((await g.get()).values.map((v) => [Object.values(v.labels).join('/'), v.value]));

describe('certificate gauges', () => {
  const ca = { secretName: 'root-ca', isCA: true, notAfter: new Date('2036-01-01T00:00:00Z'), renewAt: new Date('2035-10-01T00:00:00Z') };
  const leaf = { secretName: 'root-server', isCA: false, notAfter: new Date('2027-01-01T00:00:00Z'), renewAt: new Date('2026-12-01T00:00:00Z') };

  it('exports notAfter and the renewal time per Secret, and drops Secrets that left the plan', async () => {
    const rs = owner('RootShard', 'root');
    recordCertificates(rs, [ca, leaf]);
    expect(await series(certificateExpiry)).toMatchObject({ 'ns/root-ca/true': Date.parse('2036-01-01T00:00:00Z') / 1000, 'ns/root-server/false': Date.parse('2027-01-01T00:00:00Z') / 1000 });
    expect(await series(certificateRenewal)).toMatchObject({ 'ns/root-server/false': Date.parse('2026-12-01T00:00:00Z') / 1000 });
    recordCertificates(rs, [ca]);
    expect(Object.keys(await series(certificateExpiry))).toEqual(['ns/root-ca/true']);
    expect(Object.keys(await series(certificateRenewal))).toEqual(['ns/root-ca/true']);
    forgetCertificates(rs);
    expect(await series(certificateExpiry)).toEqual({});
  });

  it('keeps a Secret another owner still reports', async () => {
    recordCertificates(owner('RootShard', 'a'), [ca]);
    recordCertificates(owner('Shard', 'b'), [ca]);
    forgetCertificates(owner('RootShard', 'a'));
    expect(Object.keys(await series(certificateExpiry))).toEqual(['ns/root-ca/true']);
    forgetCertificates(owner('Shard', 'b'));
    expect(await series(certificateExpiry)).toEqual({});
  });
});

describe('component availability gauge', () => {
  const status = (s: string) => ({ conditions: [{ type: 'Available', status: s, reason: 'R', message: '', lastTransitionTime: '' }] });

  it('follows the Available condition, ignores a status without one, and goes away with the object', async () => {
    const shard = owner('Shard', 's1');
    recordAvailability('Shard', shard, status('False'));
    expect(await series(componentAvailable)).toEqual({ 'ns/Shard/s1': 0 });
    recordAvailability('Shard', shard, status('True'));
    recordAvailability('Shard', shard, { conditions: [] });
    expect(await series(componentAvailable)).toEqual({ 'ns/Shard/s1': 1 });
    recordCertificates(shard, [{ secretName: 's1-server', isCA: false, notAfter: new Date(), renewAt: new Date() }]);
    forgetComponent('Shard', shard);
    expect(await series(componentAvailable)).toEqual({});
    expect(await series(certificateExpiry)).toEqual({});
  });
});
