/** Plain-text tables of metric results; every row is labelled with its split and ranking mode. */
import type { MetricResult } from './metrics.js';

/** One labelled row: a model name plus its result. */
export interface ReportRow {
  model: string;
  result: MetricResult;
}

/** Formats rows as an aligned table: model | split | mode | users | R@K... | N@K... */
export function formatMetricTable(rows: readonly ReportRow[]): string {
  if (rows.length === 0) return '(no results)';
  const ks = rows[0]!.result.ks;
  const header = ['model', 'split', 'ranking', 'users', ...ks.map((k) => `R@${k}`), ...ks.map((k) => `N@${k}`)];
  const body = rows.map(({ model, result: r }) => [
    model, r.split ?? '-', r.mode, String(r.users),
    ...ks.map((k) => (r.recall[k] ?? 0).toFixed(4)), ...ks.map((k) => (r.ndcg[k] ?? 0).toFixed(4)),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => row[c]!.length)));
  const fmt = (cells: string[]) => cells.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)].join('\n');
}
