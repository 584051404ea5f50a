import { describe, expect, it } from 'vitest';
import type { CommonShardSpec } from '../api/shard-common.js';
import { unsupportedCondition, unsupportedShardFields } from './unsupported.js';

describe('unsupported fields', () => {
  it('names each field the operator does not act on', () => {
    const spec = {
      etcd: { endpoints: ['http://e:2379'] },
      kcpVirtualWorkspace: { name: 'vw' },
      certificateTemplates: { server: { spec: { privateKey: { rotationPolicy: 'Never' } } } },
    } as CommonShardSpec;
    const fields = unsupportedShardFields(spec);
    // Acted on since the VirtualWorkspace kind is served.
    expect(fields.join('\n')).not.toMatch(/spec\.kcpVirtualWorkspace/);
    expect(fields.join('\n')).toMatch(/certificateTemplates\.server\.spec\.privateKey\.rotationPolicy=Never/);
    expect(unsupportedCondition(fields, 3)[0]).toMatchObject({ type: 'UnsupportedFields', status: 'True', observedGeneration: 3 });
  });
  it('acts on spec.proxy (the internal proxy is deployed), but names what its certificate templates ask for that the PKI does not do', () => {
    const spec = { etcd: { endpoints: ['http://e:2379'] }, proxy: { replicas: 1, extraArgs: ['--v=2'] } } as Parameters<typeof unsupportedShardFields>[0];
    expect(unsupportedShardFields(spec)).toEqual([]);
    const withIssuer = { ...spec, proxy: { certificateTemplates: { server: { spec: { issuerRef: { name: 'x' } } } } } } as Parameters<typeof unsupportedShardFields>[0];
    expect(unsupportedShardFields(withIssuer).join('\n')).toMatch(/spec\.proxy\.certificateTemplates\.server\.spec\.issuerRef/);
  });
  it('reports nothing for a plain spec', () => {
    expect(unsupportedShardFields({ etcd: { endpoints: ['http://e:2379'] } } as CommonShardSpec)).toEqual([]);
    expect(unsupportedCondition([], 1)).toEqual([]);
  });
});
