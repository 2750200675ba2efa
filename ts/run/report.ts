/** Printing a run's metrics: the evaluation's labelled table (split and ranking mode per row). */
import { RANKING_MODES } from '../eval/metrics.js';
import { formatMetricTable, type ReportRow } from '../eval/report.js';
import type { FlatMetrics, SplitMetrics } from './layout.js';

function ksOf(flat: FlatMetrics): number[] {
  return Object.keys(flat).filter((k) => k.startsWith('recall@')).map((k) => Number(k.slice(7))).sort((a, b) => a - b);
}

/** A table with one row per (model, ranking mode) that has metrics. */
export function formatSplitMetrics(rows: readonly { model: string; metrics: SplitMetrics }[]): string {
  const out: ReportRow[] = [];
  for (const { model, metrics } of rows) {
    for (const mode of RANKING_MODES) {
      const flat = metrics[mode];
      const ks = ksOf(flat);
      if (ks.length === 0) continue;
      out.push({
        model,
        result: {
          mode, split: metrics.split, users: metrics.users, ks,
          recall: Object.fromEntries(ks.map((k) => [k, flat[`recall@${k}`] ?? 0])),
          ndcg: Object.fromEntries(ks.map((k) => [k, flat[`ndcg@${k}`] ?? 0])),
        },
      });
    }
  }
  return `${formatMetricTable(out)}\n(ranking: full = whole catalogue; exclude-history = the user's own history items removed first)`;
}
