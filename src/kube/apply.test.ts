import { describe, expect, it } from 'vitest';
import { canonicalJson, contentHash, isSubset } from './apply.js';

describe('isSubset', () => {
  it('accepts server-added fields and rejects drift', () => {
    const desired = { spec: { replicas: 1, template: { containers: [{ name: 'a', image: 'x' }] } } };
    const live = {
      spec: { replicas: 1, strategy: {}, template: { containers: [{ name: 'a', image: 'x', imagePullPolicy: 'Always' }] } },
    };
    expect(isSubset(desired, live)).toBe(true);
    expect(isSubset(desired, { spec: { ...live.spec, replicas: 2 } })).toBe(false);
  });

  it('treats lists as ordered and whole', () => {
    expect(isSubset({ a: [1, 2] }, { a: [1, 2, 3] })).toBe(false);
    expect(isSubset({ a: [2, 1] }, { a: [1, 2] })).toBe(false);
    expect(isSubset({ a: [] }, {})).toBe(true);
    expect(isSubset({ a: [] }, { a: [1] })).toBe(false);
  });

  it('matches empty maps against absent fields, as the server drops them', () => {
    expect(isSubset({ metadata: { labels: {} } }, { metadata: {} })).toBe(true);
    expect(isSubset({ status: { replicas: 0, ready: false } }, { status: {} })).toBe(true);
    expect(isSubset({ spec: { replicas: 0 } }, { spec: { replicas: 1 } })).toBe(false);
  });
});

describe('contentHash', () => {
  it('ignores key order and undefined values', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: undefined } })).toBe('{"a":{"d":2},"b":1}');
    expect(contentHash({ a: 1, b: 2 })).toBe(contentHash({ b: 2, a: 1 }));
    expect(contentHash({ a: 1 })).not.toBe(contentHash({ a: 2 }));
  });
});
