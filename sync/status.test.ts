import { describe, expect, it } from 'vitest';
import { NONE_WRITTEN, composeStatus, lastSyncTimes, statusTime, writtenAt, writtenTimes, type ClusterOutcome } from './status.js';

const outcome = (results: ClusterOutcome['results'], written: Record<string, string> = {}): ClusterOutcome => ({ results, written: writtenTimes(Object.entries(written)) });

describe('composeStatus', () => {
  it('lists destinations sorted, summarises, and keeps lastSync across recomputations', () => {
    const prev = composeStatus(
      new Map([['hub', outcome([{ namespace: 'b', state: 'Synced' }, { namespace: 'a', state: 'Synced' }], { a: 't1', b: 't1' })]]),
      [{ name: 'hub', state: 'Ready', lastError: undefined, targeted: true }],
      [],
      NONE_WRITTEN,
    );
    expect(prev.destinations.map((d) => d.namespace)).toEqual(['a', 'b']);
    expect(prev.summary).toBe('2 Synced');
    // A later pass that wrote nothing keeps the times; a new write replaces one.
    const next = composeStatus(
      new Map([['hub', outcome([{ namespace: 'a', state: 'Synced' }, { namespace: 'b', state: 'Synced' }], { b: 't2' })]]),
      [{ name: 'hub', state: 'Ready', lastError: undefined, targeted: true }],
      [],
      lastSyncTimes(prev),
    );
    expect(next.destinations.map((d) => d.lastSync)).toEqual(['t1', 't2']);
  });

  it('reports a cluster that is not ready as one entry, and unregistered names', () => {
    const s = composeStatus(
      new Map([['edge', outcome([{ namespace: 'a', state: 'Synced' }])]]),
      [
        { name: 'edge', state: 'Unreachable', lastError: 'connect ECONNREFUSED', targeted: true },
        { name: 'other', state: 'Connecting', lastError: undefined, targeted: false },
      ],
      ['mars'],
      NONE_WRITTEN,
    );
    expect(s.destinations).toEqual([
      { cluster: 'edge', state: 'Unreachable', message: 'connect ECONNREFUSED' },
      { cluster: 'mars', state: 'NotRegistered', message: expect.any(String) },
    ]);
  });

  it('is the same text for the same facts (no timestamps of its own)', () => {
    const args = [new Map([['hub', outcome([{ namespace: 'a', state: 'Conflict', message: 'm' }])]]), [{ name: 'hub', state: 'Ready' as const, lastError: undefined, targeted: true }], [], NONE_WRITTEN] as const;
    expect(JSON.stringify(composeStatus(...args))).toBe(JSON.stringify(composeStatus(...args)));
  });

  it('reports invalid rules instead of destinations', () => {
    const s = composeStatus(new Map([['hub', { invalid: 'bad', results: [], written: NONE_WRITTEN }]]), [], [], NONE_WRITTEN);
    expect(s).toMatchObject({ error: 'bad', destinations: [] });
  });
});

describe('statusTime', () => {
  it('writes RFC 3339 to the second, one string per second', () => {
    const t = Date.UTC(2026, 11, 3, 6, 1, 2, 345);
    expect(statusTime(t)).toBe('2026-12-03T06:01:02Z');
    expect(statusTime(t + 600)).toBe(statusTime(t));
    expect(statusTime(t + 600)).toBe('2026-12-03T06:01:02Z');
    expect(statusTime(t + 700)).toBe('2026-12-03T06:01:03Z');
  });
});

describe('writtenTimes', () => {
  it('keeps keys in namespace order whatever order the writes finished in (one object shape for the same namespaces)', () => {
    const a = writtenTimes([['b', 't2'], ['a', 't1'], ['c', 't3']]);
    const b = writtenTimes([['c', 't3'], ['b', 't2'], ['a', 't1']]);
    expect(Object.keys(a)).toEqual(['a', 'b', 'c']);
    expect(Object.keys(b)).toEqual(Object.keys(a));
  });

  it('reads only what was written: a namespace named like an Object.prototype member has no time', () => {
    const w = writtenTimes([['constructor', '2026-12-03T10:00:00Z']]);
    expect(writtenAt(w, 'constructor')).toBe('2026-12-03T10:00:00Z');
    for (const ns of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) expect(writtenAt(NONE_WRITTEN, ns)).toBeUndefined();
    const s = composeStatus(new Map([['hub', outcome([{ namespace: 'toString', state: 'Synced' }])]]), [{ name: 'hub', state: 'Ready', lastError: undefined, targeted: true }], [], NONE_WRITTEN);
    expect(s.destinations).toEqual([{ cluster: 'hub', namespace: 'toString', state: 'Synced' }]);
  });
});
