import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../src/kube/object.js';
import { SOURCE_LABEL, STATUS_ANNOTATION } from './keys.js';
import { currentStatus, slimSource } from './source-cache.js';
import { composeStatus, formatStatus, type ClusterContext, type ClusterOutcome } from './status.js';

const hub: ClusterContext[] = [{ name: 'hub', state: 'Ready', lastError: undefined, targeted: true }];
const status = (times: Record<string, string>) =>
  formatStatus({
    summary: `${Object.keys(times).length} Synced`,
    destinations: Object.entries(times).map(([namespace, lastSync]) => ({ cluster: 'hub', namespace, state: 'Synced' as const, lastSync })),
  });
const source = (text: string | undefined): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 's', namespace: 'p', uid: 'u', labels: { [SOURCE_LABEL]: 'true' }, annotations: { note: 'kept', ...(text === undefined ? {} : { [STATUS_ANNOTATION]: text }) } },
  data: { a: '1' },
});
// Nothing written in this pass: what the next status says comes from the current one.
const idle: ClusterOutcome = { results: [{ namespace: 'a', state: 'Synced' }, { namespace: 'b', state: 'Synced' }], written: {} };

describe('source cache', () => {
  it('keeps a digest of the status, and the same answers about it as the whole text gives', () => {
    const text = status({ a: '2026-12-03T09:00:00Z', b: '2026-12-03T09:00:01Z' });
    const whole = source(text);
    const slim = slimSource(whole);
    expect(slim.metadata.annotations?.[STATUS_ANNOTATION]).not.toBe(text);
    expect(slim.metadata.annotations?.[STATUS_ANNOTATION]?.length).toBeLessThan(60);
    expect({ ...slim, metadata: { ...slim.metadata, annotations: { ...slim.metadata.annotations, [STATUS_ANNOTATION]: text } } }).toEqual(whole);
    // The same next status from either: it keeps both times and is what the source already says.
    const fromWhole = formatStatus(composeStatus(new Map([['hub', idle]]), hub, [], currentStatus(whole).lastSync));
    const fromSlim = formatStatus(composeStatus(new Map([['hub', idle]]), hub, [], currentStatus(slim).lastSync));
    expect(fromSlim).toBe(fromWhole);
    expect(fromSlim).toBe(text);
    expect(currentStatus(slim).is(text)).toBe(true);
    expect(currentStatus(whole).is(text)).toBe(true);
    const other = status({ a: '2026-12-03T09:00:00Z', b: '2026-12-03T09:05:00Z' });
    expect(currentStatus(slim).is(other)).toBe(false);
    // Applying the transform again (an object the cache already holds) changes nothing.
    expect(slimSource(slim)).toBe(slim);
  });

  it('leaves sources without a status as they are, and a status that is not ours compares as different', () => {
    const bare = source(undefined);
    expect(slimSource(bare)).toBe(bare);
    expect(currentStatus(bare).is(status({}))).toBe(false);
    const edited = slimSource(source('edited by hand'));
    expect(currentStatus(edited).lastSync).toEqual({});
    expect(currentStatus(edited).is('edited by hand')).toBe(true);
    expect(currentStatus(edited).is(status({ a: 't' }))).toBe(false);
  });
});
