/**
 * Opening what a run directory refers to: its model at a checkpoint (for eval and serving) and
 * its dataset split (for eval), with checks that they still match what was trained.
 */
import { loadDataset, type LoadedDataset } from '../data/load.js';
import { leaveOneOutSplit, type LeaveOneOutSplit } from '../data/split.js';
import { resolveDeps, type RunDeps } from './backend.js';
import { datasetFingerprint } from './fingerprint.js';
import { checkIndexForRun } from './index-train-on.js';
import { loadRun, RunDirError, type Checkpoint, type LoadedRun } from './layout.js';
import type { LoadedIndex, RunModel } from './types.js';

/** Options of {@link openRunModel}. */
export interface OpenRunOptions extends RunDeps {
  /** Which checkpoint (default `best`). */
  checkpoint?: 'best' | 'last';
  /** Read the index from here instead of the path recorded at training time (a moved run). */
  indexDir?: string;
}

/** A run's model loaded for inference. */
export interface OpenedRun {
  run: LoadedRun;
  checkpoint: Checkpoint;
  index: LoadedIndex;
  model: RunModel;
}

/** Loads a run's model at a checkpoint, for inference (no optimiser state). */
export async function openRunModel(runDir: string, opts: OpenRunOptions = {}): Promise<OpenedRun> {
  const run = loadRun(runDir);
  const which = opts.checkpoint ?? 'best';
  const checkpoint = run[which];
  if (!checkpoint) throw new RunDirError(run.paths.dir, `has no '${which}' checkpoint yet (training has not validated once)`);
  const deps = await resolveDeps(opts);
  if (deps.backend.name !== run.config.backend) {
    throw new RunDirError(run.paths.config, `was trained with model backend '${run.config.backend}', not '${deps.backend.name}'`);
  }
  const indexDir = opts.indexDir ?? run.config.indexDir;
  const index = await deps.loadIndex(indexDir);
  if (index.numItems !== run.config.numItems) {
    throw new RunDirError(run.paths.config, `index has ${index.numItems} items, the run was trained on ${run.config.numItems}`);
  }
  checkIndexForRun(index, indexDir, run.config.train.split.trainOn);
  const model = await deps.backend.load({
    dir: checkpoint.dir, config: run.config.train.model, index, seed: run.config.train.seed,
    maxHistory: run.config.maxHistory, withTrainingState: false,
  });
  return { run, checkpoint, index, model };
}

/** Loads the dataset a run was trained on and splits it the same way; checks the fingerprint. */
export async function loadRunData(run: LoadedRun, datasetPath?: string): Promise<{ dataset: LoadedDataset; split: LeaveOneOutSplit }> {
  const path = datasetPath ?? run.config.dataset.path;
  const dataset = await loadDataset(path, run.config.train.data);
  const fp = datasetFingerprint(dataset);
  if (fp !== run.config.dataset.fingerprint) {
    throw new RunDirError(path, `is not the dataset run ${run.paths.dir} was trained on (fingerprint ${fp} != ${run.config.dataset.fingerprint})`);
  }
  return { dataset, split: leaveOneOutSplit(dataset, run.config.train.split) };
}
