import { describe, expect, it } from 'vitest';
import type { KubeClient } from './client.js';
import { silentLogger } from './log.js';
import { Manager } from './manager.js';
import type { KubeObject } from './object.js';
import { ConfigMaps, Secrets } from './resources.js';

// Nothing is started: informer() only wires, so the client is never called.
const manager = () => new Manager({ client: {} as KubeClient, logger: silentLogger });
const slim = (o: KubeObject): KubeObject => ({ apiVersion: o.apiVersion, kind: o.kind, metadata: o.metadata });

describe('Manager.informer', () => {
  it('shares one informer per resource and scope', () => {
    const m = manager();
    const a = m.informer(Secrets, { namespace: 'x', labelSelector: 'a=b' });
    expect(m.informer(Secrets, { namespace: 'x', labelSelector: 'a=b' })).toBe(a);
    expect(m.informer(Secrets, { namespace: 'x', labelSelector: 'a=c' })).not.toBe(a);
    expect(m.informer(ConfigMaps, { namespace: 'x', labelSelector: 'a=b' })).not.toBe(a);
  });

  it('shares an informer with a transform only with callers of the same transform', () => {
    const m = manager();
    const a = m.informer(Secrets, { labelSelector: 'a=b', transform: slim });
    expect(m.informer(Secrets, { labelSelector: 'a=b', transform: slim })).toBe(a);
    // Its cache holds slimmed objects: a caller wanting whole ones (or another shape) must not get it.
    expect(() => m.informer(Secrets, { labelSelector: 'a=b' })).toThrow(/secrets labels=a=b is already shared with another transform/);
    expect(() => m.informer(Secrets, { labelSelector: 'a=b', transform: (o) => o })).toThrow(/another transform/);
    const whole = m.informer(ConfigMaps, {});
    expect(() => m.informer(ConfigMaps, { transform: slim })).toThrow(/configmaps is already shared/);
    expect(m.informer(ConfigMaps, {})).toBe(whole);
  });
});
