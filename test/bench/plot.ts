// Line charts as SVG, rendered headless by vega (from a vega-lite spec): the benchmarks' plots are
// made by the project's own code, reproducibly, with no browser or canvas.
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

export interface LineChart {
  title: string;
  xTitle: string;
  yTitle: string;
  series: Series[];
  width?: number;
  height?: number;
  /** Horizontal rules (e.g. a bound), labelled in the legend like a series. */
  rules?: Array<{ name: string; y: number }>;
  /** Draw points as well as lines (for sparse series such as per-window figures). */
  points?: boolean;
}

export async function lineChartSvg(c: LineChart): Promise<string> {
  const values = c.series.flatMap((s) => s.points.map(([x, y]) => ({ x, y, series: s.name })));
  const rules = (c.rules ?? []).map((r) => ({ y: r.y, series: r.name }));
  const color = { field: 'series', type: 'nominal', title: null } as const;
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: c.title,
    width: c.width ?? 640,
    height: c.height ?? 280,
    background: 'white',
    config: { legend: { labelLimit: 0 } },
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: c.points ?? false },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: c.xTitle },
          y: { field: 'y', type: 'quantitative', title: c.yTitle },
          color,
        },
      },
      ...(rules.length ? [{ data: { values: rules }, mark: { type: 'rule' as const, strokeDash: [4, 4] }, encoding: { y: { field: 'y', type: 'quantitative' as const }, color } }] : []),
    ],
  };
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
