/**
 * `eager demo`: the whole path from data to numbers on the embedded synthetic dataset.
 * Generates the data, splits it (leave-one-out), builds each model step and scores it with the
 * real metrics on validation and test in both ranking modes, and prints a labelled table.
 *
 * Model steps are a list ({@link DEFAULT_DEMO_STEPS}); a trained model plugs in as one more
 * {@link DemoModelStep} (its `build` may train, report progress through `log`, and return any
 * {@link Recommender}).
 */
import { flagHelp, parseFlags } from '../cli/flags.js';
import { DemoFlagsSchema, type DemoFlags } from '../config/data.js';
import { leaveOneOutSplit, type LeaveOneOutSplit } from '../data/split.js';
import { datasetStats, type DatasetStats } from '../data/stats.js';
import { generateSynthetic } from '../data/synthetic.js';
import type { Dataset } from '../data/types.js';
import { mostPopularRecommender, transitionRecommender } from '../eval/baselines.js';
import type { MetricResult } from '../eval/metrics.js';
import { evaluateRecommender, type Recommender } from '../eval/recommender.js';
import { formatMetricTable, type ReportRow } from '../eval/report.js';
import { availableEagerDemoStep } from '../run/demo.js';

/** What a model step gets to build (and possibly train) its recommender. */
export interface DemoContext {
  dataset: Dataset;
  split: LeaveOneOutSplit;
  flags: DemoFlags;
  /** Progress lines (printed unless --json). */
  log: (line: string) => void;
}

/** One model of the demo. */
export interface DemoModelStep {
  name: string;
  build(ctx: DemoContext): Recommender | Promise<Recommender>;
}

/** The baselines every demo run scores. */
export const DEFAULT_DEMO_STEPS: readonly DemoModelStep[] = [
  { name: 'most-popular', build: (ctx) => mostPopularRecommender(ctx.dataset) },
  { name: 'item-transition', build: (ctx) => transitionRecommender(ctx.dataset) },
];

/** The demo's results. */
export interface DemoReport {
  dataset: DatasetStats;
  samples: { train: number; valid: number; test: number };
  results: { model: string; split: string; metrics: MetricResult }[];
  seconds: number;
}

/** Runs the demo pipeline with the given steps (no printing except through `log`). */
export async function runDemoPipeline(
  flags: DemoFlags, steps: readonly DemoModelStep[] = DEFAULT_DEMO_STEPS, log: (line: string) => void = () => {},
): Promise<DemoReport> {
  const t0 = performance.now();
  const dataset = generateSynthetic({ seed: flags.seed, numUsers: flags.users, numItems: flags.items });
  const split = leaveOneOutSplit(dataset, { maxHistory: flags.maxHistory });
  const stats = datasetStats(dataset);
  log(`data: ${stats.name}: ${stats.users} users, ${stats.items} items, ${stats.interactions} interactions; `
    + `${split.train.size} training samples, T = ${split.maxHistory}`);
  const ctx: DemoContext = { dataset, split, flags, log };
  const results: DemoReport['results'] = [];
  for (const step of steps) {
    const model = await step.build(ctx);
    for (const part of [split.valid, split.test]) {
      for (const metrics of await evaluateRecommender(model, part, dataset.numItems, { ks: flags.ks })) {
        results.push({ model: step.name, split: part.part, metrics });
      }
    }
  }
  return {
    dataset: stats,
    samples: { train: split.train.size, valid: split.valid.size, test: split.test.size },
    results,
    seconds: (performance.now() - t0) / 1000,
  };
}

const USAGE = `usage: eager demo [options]

Generates the embedded synthetic dataset, splits it (leave-one-out), scores the models on
validation and test with Recall@K / NDCG@K in both ranking modes and prints a table.

options:
${flagHelp(DemoFlagsSchema)}`;

/** Entry point of `eager demo`; returns the exit code. */
export async function runDemo(argv: string[]): Promise<number> {
  const { flags } = parseFlags(DemoFlagsSchema, argv);
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const log = flags.json ? () => {} : (l: string) => console.log(l);
  // The EAGER model trains after the baselines (about a minute), when this build has it.
  const eager = await availableEagerDemoStep({ quiet: flags.json });
  if (!eager.step) log(`eager: skipped (${eager.reason})`);
  const report = await runDemoPipeline(flags, eager.step ? [...DEFAULT_DEMO_STEPS, eager.step] : DEFAULT_DEMO_STEPS, log);
  if (flags.json) {
    console.log(JSON.stringify(report));
    return 0;
  }
  const rows: ReportRow[] = report.results.map((r) => ({ model: r.model, result: r.metrics }));
  console.log('');
  console.log(formatMetricTable(rows));
  console.log('');
  console.log('ranking: full = over the whole catalogue; exclude-history = the user\'s own history items removed first.');
  console.log(`done in ${report.seconds.toFixed(2)} s`);
  return 0;
}
