import { describe, expect, it } from 'vitest';
import { countOf, histogramOf, quantile, since } from '../bench/prom-histogram.js';

const scrape = (a: number[], b: number[]) =>
  [
    '# HELP rest_client_request_duration_seconds x',
    '# TYPE rest_client_request_duration_seconds histogram',
    ...['0.01', '0.1', '1', '+Inf'].map((le, i) => `rest_client_request_duration_seconds_bucket{le="${le}",verb="update",host="h:1"} ${a[i]}`),
    'rest_client_request_duration_seconds_sum{verb="update",host="h:1"} 3',
    ...['0.01', '0.1', '1', '+Inf'].map((le, i) => `rest_client_request_duration_seconds_bucket{le="${le}",verb="get",host="h:1"} ${b[i]}`),
    'rest_client_requests_total{method="update",code="200"} 9',
  ].join('\n');

describe('histogramOf and quantile', () => {
  it('reads one series set by its labels and estimates quantiles as histogram_quantile() does', () => {
    const h = histogramOf(scrape([50, 90, 100, 100], [1, 1, 1, 1]), 'rest_client_request_duration_seconds', { verb: 'update' });
    expect(countOf(h)).toBe(100);
    expect(quantile(0.5, h)).toBeCloseTo(0.01); // the 50th of 100 is the last one at or under 10 ms
    expect(quantile(0.25, h)).toBeCloseTo(0.005); // half-way through the first bucket, from 0
    expect(quantile(0.7, h)).toBeCloseTo(0.01 + 0.09 * (20 / 40));
    expect(quantile(0.99, h)).toBeCloseTo(0.1 + 0.9 * (9 / 10));
  });

  it('sums series that match the labels given, and subtracts an earlier scrape', () => {
    const both = histogramOf(scrape([50, 90, 100, 100], [1, 1, 1, 1]), 'rest_client_request_duration_seconds');
    expect(countOf(both)).toBe(101);
    const before = histogramOf(scrape([40, 80, 90, 90], [0, 0, 0, 0]), 'rest_client_request_duration_seconds', { verb: 'update' });
    const after = histogramOf(scrape([50, 90, 100, 100], [0, 0, 0, 0]), 'rest_client_request_duration_seconds', { verb: 'update' });
    const d = since(after, before);
    expect(countOf(d)).toBe(10);
    expect(quantile(1, d)).toBeCloseTo(0.01); // all ten between the scrapes were at or under 10 ms
  });

  it('answers the highest finite bound for ranks past it, and NaN with nothing observed', () => {
    const h = histogramOf(scrape([0, 0, 1, 3], [0, 0, 0, 0]), 'rest_client_request_duration_seconds', { verb: 'update' });
    expect(quantile(0.99, h)).toBe(1);
    expect(quantile(0.5, histogramOf('', 'rest_client_request_duration_seconds'))).toBeNaN();
  });
});
