// The benchmarks' SVG plots (test/bench/plot.ts) render headless: each series, its title and a
// rule reach the SVG.
import { describe, expect, it } from 'vitest';
import { lineChartSvg } from '../bench/plot.js';

describe('lineChartSvg', () => {
  it('renders every series, the axis titles and a rule as SVG', async () => {
    const svg = await lineChartSvg({
      title: 'RSS over time',
      xTitle: 'minutes',
      yTitle: 'MiB',
      series: [
        { name: 'operator', points: [[0, 100], [1, 101], [2, 102]] },
        { name: 'sidecar', points: [[0, 80], [1, 80], [2, 81]] },
      ],
      rules: [{ name: 'bound', y: 120 }],
    });
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of ['RSS over time', 'minutes', 'MiB', 'operator', 'sidecar', 'bound']) expect(svg).toContain(text);
    expect((svg.match(/<path/g) ?? []).length).toBeGreaterThan(2);
  });
});
