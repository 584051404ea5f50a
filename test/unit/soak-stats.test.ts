// The soak benchmark's arithmetic (test/bench/soak-stats.ts) on small worked examples.
import { describe, expect, it } from 'vitest';
import { bucketDelta, buckets, histogramQuantile, parseMetrics, quantile, slope, sumOf } from '../bench/soak-stats.js';

const TEXT = `# HELP h a histogram
# TYPE h histogram
h_bucket{le="0.1",controller="a"} 5
h_bucket{le="1",controller="a"} 9
h_bucket{le="+Inf",controller="a"} 10
h_bucket{le="0.1",controller="b"} 5
h_bucket{le="1",controller="b"} 9
h_bucket{le="+Inf",controller="b"} 10
nodejs_active_resources{type="Timeout"} 7
nodejs_active_resources{type="TCPWRAP"} 3
g{resource="x \\"q\\""} 2
`;

describe('soak statistics', () => {
  it('parses the text format and sums series by label', () => {
    const m = parseMetrics(TEXT);
    expect(sumOf(m, 'nodejs_active_resources')).toBe(10);
    expect(sumOf(m, 'nodejs_active_resources', { type: 'Timeout' })).toBe(7);
    expect(m.find((s) => s.name === 'g')?.labels.resource).toBe('x \\"q\\"');
  });

  it('takes quantiles of a histogram summed over its series, and of the delta between scrapes', () => {
    const b = buckets(parseMetrics(TEXT), 'h');
    expect([...b]).toEqual([[0.1, 10], [1, 18], [Infinity, 20]]);
    expect(histogramQuantile(0.5, b)).toBeCloseTo(0.1); // rank 10: the top of the first bucket
    expect(histogramQuantile(0.7, b)).toBeCloseTo(0.1 + 0.9 * (4 / 8)); // rank 14: halfway into (0.1, 1]
    expect(histogramQuantile(0.99, b)).toBe(1); // in +Inf: the highest finite bound
    const earlier = new Map([[0.1, 10], [1, 10], [Infinity, 10]]);
    expect(histogramQuantile(0.5, bucketDelta(b, earlier))).toBeCloseTo(0.1 + 0.9 * (5 / 8));
    expect(histogramQuantile(0.5, bucketDelta(b, b))).toBeUndefined();
  });

  it('fits a least-squares slope and takes nearest-rank quantiles', () => {
    expect(slope([[0, 1], [1, 3], [2, 5]])).toBeCloseTo(2);
    expect(slope([[0, 1], [1, 2], [2, 1], [3, 2]])).toBeCloseTo(0.2);
    expect(slope([[1, 1]])).toBeUndefined();
    expect(quantile(0.99, Array.from({ length: 100 }, (_, i) => i + 1))).toBe(99);
    expect(quantile(0.5, [3, 1, 2])).toBe(2);
    expect(quantile(0.5, [])).toBeUndefined();
  });
});
