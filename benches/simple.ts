/**
 * The two count-based reference recommenders (`ts/eval/baselines.ts`: most popular and item
 * transition), fitted on the training parts and evaluated on validation and test with the shared
 * metrics. They take seconds and have no hyper-parameters to select, so both splits are simply
 * reported; their purpose on the results page is (1) a floor every learned model must clear and
 * (2) a model-free measure of how much harder the test targets are than the validation targets.
 */
import { loadDataset } from '../ts/data/load.js';
import { leaveOneOutSplit, type SampleSet } from '../ts/data/split.js';
import { mostPopularRecommender, transitionRecommender } from '../ts/eval/baselines.js';
import { DEFAULT_KS } from '../ts/eval/metrics.js';
import { evaluateRecommender, type Recommender } from '../ts/eval/recommender.js';
import { flattenMetrics } from '../ts/run/evaluate.js';
import { provenance } from './provenance.js';
import type { SimpleResult, SplitMetrics } from './results-schema.js';

async function splitMetrics(model: Recommender, set: SampleSet, numItems: number): Promise<SplitMetrics> {
  const [full, excl] = await evaluateRecommender(model, set, numItems, { ks: DEFAULT_KS, modes: ['full', 'exclude-history'] });
  return { users: set.size, full: flattenMetrics(full!), 'exclude-history': flattenMetrics(excl!) };
}

/** Fits and evaluates both reference recommenders on the dataset in `dir`. */
export async function simpleBaselinesResult(o: { root: string; dir: string; datasetName: string; loadAtStart?: number[] }): Promise<SimpleResult> {
  const t0 = performance.now();
  const ds = await loadDataset(o.dir);
  const split = leaveOneOutSplit(ds);
  const models: SimpleResult['models'] = {};
  for (const model of [mostPopularRecommender(ds), transitionRecommender(ds)]) {
    models[model.name] = {
      valid: await splitMetrics(model, split.valid, ds.numItems),
      test: await splitMetrics(model, split.test, ds.numItems),
    };
  }
  const refit: NonNullable<SimpleResult['refit']> = {};
  for (const model of [mostPopularRecommender(ds, 'train+valid'), transitionRecommender(ds, 'train+valid')]) {
    refit[model.name] = { test: await splitMetrics(model, split.test, ds.numItems) };
  }
  return {
    format: 'eager-bench-result', version: 1, kind: 'simple', dataset: o.datasetName, configName: 'simple',
    models, refit, wallSeconds: { total: (performance.now() - t0) / 1000 },
    provenance: provenance(o.root, {}, o.loadAtStart),
  };
}
