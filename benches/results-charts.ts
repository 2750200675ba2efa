/**
 * The results page's pictures as Vega-Lite specs, rendered to SVG in Node (no browser, no
 * canvas: `vega.View#toSVG` with the `none` renderer). Rendering is deterministic for the same
 * data, so regenerating the page without new results leaves the files unchanged.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Curves } from './results-schema.js';

/** One bar of the comparison chart. */
export interface BarDatum {
  model: string;
  metric: string;
  value: number;
}

const METRIC_ORDER = ['recall@5', 'recall@10', 'recall@20', 'ndcg@5', 'ndcg@10', 'ndcg@20'];

/** Renders a Vega-Lite spec to an SVG document string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return svg.endsWith('\n') ? svg : `${svg}\n`;
  } finally {
    view.finalize();
  }
}

/** Grouped bars: per metric, one bar per model (this project against the paper). */
export function barChartSpec(title: string, data: BarDatum[], modelOrder: string[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 520,
    height: 240,
    background: 'white',
    data: { values: data },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: { field: 'metric', type: 'nominal', sort: METRIC_ORDER, title: null, axis: { labelAngle: 0 } },
      xOffset: { field: 'model', type: 'nominal', sort: modelOrder },
      y: { field: 'value', type: 'quantitative', title: 'test metric' },
      color: { field: 'model', type: 'nominal', sort: modelOrder, legend: { orient: 'bottom', columns: 3, labelLimit: 260, title: null } },
    },
  } as TopLevelSpec;
}

/** Loss parts over updates (left) and validation metrics over updates (right). */
export function curvesSpec(title: string, curves: Curves, validKeys: string[]): TopLevelSpec {
  const loss = curves.loss.flatMap((p) =>
    Object.entries(p).filter(([k]) => k !== 'step').map(([part, value]) => ({ step: p.step, part, value })));
  const valid = curves.valid.flatMap((p) =>
    validKeys.filter((k) => typeof p[k] === 'number').map((metric) => ({ step: p.step, metric, value: p[metric] })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    background: 'white',
    hconcat: [
      {
        title: 'training loss (mean per bucket of updates)',
        width: 340,
        height: 220,
        data: { values: loss },
        mark: { type: 'line' },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'update' },
          // Log scale when possible: the weighted total and the parts differ by an order of magnitude.
          y: { field: 'value', type: 'quantitative', title: 'loss', scale: { type: loss.every((p) => p.value > 0) ? 'log' : 'linear' } },
          color: { field: 'part', type: 'nominal', legend: { orient: 'bottom', columns: 4, title: null } },
        },
      },
      {
        title: 'validation (full ranking)',
        width: 260,
        height: 220,
        data: { values: valid },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'update' },
          y: { field: 'value', type: 'quantitative', title: 'metric' },
          color: { field: 'metric', type: 'nominal', legend: { orient: 'bottom', title: null } },
        },
      },
    ],
    resolve: { scale: { color: 'independent' } },
  } as TopLevelSpec;
}
