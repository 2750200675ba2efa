/**
 * One training run end to end: data + split, index, model, the training loop with validation on
 * the validation split only, best/last checkpoints, optionally a final selection among the best
 * checkpoints on every validation user (`eval.finalCandidates`), then test metrics of the chosen
 * checkpoint, computed exactly once, into results.json.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadDataset } from '../data/load.js';
import { leaveOneOutSplit } from '../data/split.js';
import type { Dataset } from '../data/types.js';
import { runTrainingLoop, type LoopState } from '../train/loop.js';
import { ProgressReporter } from '../train/progress.js';
import { resolveDeps, type RunDeps } from './backend.js';
import { RunConfigError, type TrainConfig } from './config.js';
import { evaluateModel, sampleSubset } from './evaluate.js';
import { datasetFingerprint } from './fingerprint.js';
import { checkIndexForRun } from './index-train-on.js';
import { writeJsonAtomic } from '../util/fs.js';
import { withLock } from '../util/lock.js';
import {
  candidateDir, loadRun, pointBestAt, readCandidates, readCheckpoint, RunDirError, RunPaths, saveCandidate, saveCheckpoint, truncateCandidates,
  truncateLog, writeRunConfig, writeRunItems, writeRunResults,
  RUN_LAYOUT_VERSION, type FinalSelection, type RunConfigFile, type RunItems, type RunResults, type SplitMetrics,
} from './layout.js';
import type { LoadedIndex, RunModel } from './types.js';

/** What to train. */
export interface TrainRequest {
  /** Output run directory. */
  out: string;
  /** New run: the dataset directory, the index directory and the config. Ignored with `resume`. */
  dataset?: string;
  index?: string;
  config?: TrainConfig;
  /** Continue the run in `out` from its last checkpoint. */
  resume?: boolean;
  /** An in-memory dataset instead of `dataset` (e.g. the demo's synthetic data; not resumable). */
  inMemory?: { dataset: Dataset; index: LoadedIndex };
  /** Compute the test metrics at the end (default true; the demo evaluates itself). */
  evaluateTest?: boolean;
}

/** Options of {@link trainRun}. */
export interface TrainRunOptions extends RunDeps {
  progress?: ProgressReporter;
  /** Status lines (stage timings, ...). */
  log?: (line: string) => void;
}

/** The outcome: results when finished, or `interrupted` (Ctrl-C; resumable). */
export type TrainOutcome = { interrupted: false; results: RunResults } | { interrupted: true; step: number };

function runItems(ds: Dataset): RunItems {
  const titles: (string | null)[] = [null];
  const sourceIds: (string | null)[] = [null];
  for (let i = 1; i <= ds.numItems; i++) {
    const m = ds.items[i];
    titles.push(typeof m?.title === 'string' && m.title !== '' ? m.title : null);
    sourceIds.push(typeof m?.sourceId === 'string' ? m.sourceId : null);
  }
  return { numItems: ds.numItems, titles, sourceIds };
}

/** Trains (or resumes) a run. */
export async function trainRun(req: TrainRequest, opts: TrainRunOptions = {}): Promise<TrainOutcome> {
  // One process per run directory: a second `eager train` (or a `--resume` while the first is
  // still training) fails at once with EAGER_LOCKED instead of interleaving checkpoints.
  return withLock(req.out, 'eager train', () => trainRunLocked(req, opts));
}

async function trainRunLocked(req: TrainRequest, opts: TrainRunOptions): Promise<TrainOutcome> {
  const log = opts.log ?? (() => {});
  const tStart = performance.now();
  const seconds: Record<string, number> = {};
  const stage = async <T>(name: string, f: () => Promise<T> | T): Promise<T> => {
    const t = performance.now();
    const out = await f();
    seconds[name] = (performance.now() - t) / 1000;
    return out;
  };
  const deps = await resolveDeps(opts);
  const paths = new RunPaths(req.out);

  // ---- what to run: a new run's inputs, or the run on disk
  let runConfig: RunConfigFile | null = null;
  let resumeFrom: { dir: string; loopState: LoopState; trainSeconds: number } | null = null;
  if (req.resume) {
    const run = loadRun(paths.dir);
    if (run.results) throw new RunDirError(paths.results, 'the run has already finished (results.json exists); nothing to resume');
    if (!run.last?.loopState) throw new RunDirError(paths.checkpoints, 'no last checkpoint with loop state to resume from');
    runConfig = run.config;
    // JSON has no -Infinity: a run interrupted before its first validation stored null.
    const loopState = { ...run.last.loopState, bestMetric: run.last.loopState.bestMetric ?? Number.NEGATIVE_INFINITY };
    resumeFrom = { dir: run.last.dir, loopState, trainSeconds: run.last.trainSeconds ?? 0 };
  } else {
    if (!(req.inMemory || (req.dataset && req.index)) || !req.config) throw new RunConfigError('a new run needs a dataset, an index directory and a config');
    if (existsSync(paths.config)) {
      throw new RunDirError(paths.dir, 'already holds a run (config.json exists): use --resume to continue it, or another --out');
    }
  }
  const cfg = runConfig?.train ?? req.config!;
  if (cfg.stopAt !== undefined && cfg.stopAt > cfg.maxSteps) {
    throw new RunConfigError(`stopAt: ${cfg.stopAt} is beyond maxSteps (${cfg.maxSteps})`);
  }
  const datasetPath = runConfig?.dataset.path ?? (req.inMemory ? '(in memory)' : resolve(req.dataset!));
  const indexDir = runConfig?.indexDir ?? (req.inMemory ? '(in memory)' : resolve(req.index!));

  // ---- data, index, model
  const { dataset, split } = await stage('data', async () => {
    const dataset = req.inMemory?.dataset ?? await loadDataset(datasetPath, cfg.data);
    return { dataset, split: leaveOneOutSplit(dataset, cfg.split) };
  });
  const fingerprint = datasetFingerprint(dataset);
  if (runConfig && runConfig.dataset.fingerprint !== fingerprint) {
    throw new RunDirError(datasetPath, 'changed since the run started (dataset fingerprint differs); cannot resume');
  }
  log(`data: ${dataset.name}: ${dataset.sequences.length} users, ${dataset.numItems} items; `
    + `${split.train.size} training samples, T = ${split.maxHistory} (${seconds.data!.toFixed(1)} s)`);
  const index = await stage('index', () => req.inMemory?.index ?? deps.loadIndex(indexDir));
  if (index.numItems !== dataset.numItems) {
    throw new RunConfigError(`index ${indexDir} has ${index.numItems} items but dataset ${datasetPath} has ${dataset.numItems}: `
      + 'build the index from this dataset (`eager index`)');
  }
  const indexFp = index.manifest.datasetFingerprint;
  if (typeof indexFp === 'string' && indexFp !== fingerprint) {
    throw new RunConfigError(`index ${indexDir} was built from another dataset than ${datasetPath} `
      + `(fingerprint ${indexFp} != ${fingerprint}): rebuild it with \`eager index\``);
  }
  checkIndexForRun(index, indexDir, cfg.split.trainOn);
  const modelConfig = deps.backend.parseConfig(cfg.model);
  if (!runConfig) {
    runConfig = {
      format: 'eager-run', version: RUN_LAYOUT_VERSION, backend: deps.backend.name,
      dataset: { path: datasetPath, name: dataset.name, numItems: dataset.numItems, numUsers: dataset.sequences.length, fingerprint },
      indexDir, numItems: dataset.numItems, maxHistory: split.maxHistory,
      train: { ...cfg, model: modelConfig }, createdAt: new Date().toISOString(),
    };
    writeRunConfig(paths, runConfig);
    writeRunItems(paths, runItems(dataset));
  }
  const modelArgs = { config: modelConfig, index, seed: cfg.seed, maxHistory: split.maxHistory };
  let model: RunModel = await stage('model', () => (resumeFrom
    ? deps.backend.load({ ...modelArgs, dir: resumeFrom.dir, withTrainingState: true })
    : deps.backend.create(modelArgs)));
  if (resumeFrom) {
    truncateLog(paths, resumeFrom.loopState.step);
    truncateCandidates(paths, resumeFrom.loopState.step);
    log(`resuming at step ${resumeFrom.loopState.step} (best ${cfg.eval.metric} ${resumeFrom.loopState.bestMetric.toFixed(4)} at step ${resumeFrom.loopState.bestStep})`);
  }

  // ---- training with validation (none in a refit: its training data holds the validation targets)
  const refit = cfg.split.trainOn === 'train+valid';
  if (refit) log(`refit: training on the training and validation targets for ${cfg.stopAt ?? cfg.maxSteps} updates, no validation`);
  const validSamples = sampleSubset(split.valid, cfg.eval.validUsers, cfg.seed, dataset.sequences);
  const evalOpts = { decode: cfg.eval.decode, batchSize: cfg.eval.batchSize, extraForExclusion: cfg.eval.extraForExclusion };
  // A final selection only makes sense when training validates on a sample of the users.
  const finalK = !refit && validSamples.size < split.valid.size ? cfg.eval.finalCandidates : 1;
  const tTrain = performance.now();
  const trainSecondsNow = () => (resumeFrom?.trainSeconds ?? 0) + (performance.now() - tTrain) / 1000;
  const loop = await runTrainingLoop(model, {
    runDir: paths.dir,
    train: split.train,
    batchSize: cfg.batchSize,
    seed: cfg.seed,
    maxSteps: cfg.maxSteps,
    ...(cfg.stopAt !== undefined ? { stopAt: cfg.stopAt } : {}),
    schedule: cfg.schedule,
    evalEvery: cfg.evalEvery,
    patience: cfg.patience,
    metricKey: cfg.eval.metric,
    ...(refit ? {} : {
      validate: async () => (await evaluateModel(model, validSamples, dataset.numItems, { ...evalOpts, modes: ['full'] })).full,
    }),
    saveBest: async (state, metrics) => {
      await saveCheckpoint(paths, model, 'best', { step: state.step, metrics, trainSeconds: trainSecondsNow() });
    },
    ...(finalK > 1 ? {
      saveCandidate: async (state: LoopState, metrics: Record<string, number>) => {
        await saveCandidate(paths, model, finalK, metrics[cfg.eval.metric]!, { step: state.step, metrics, trainSeconds: trainSecondsNow() });
      },
    } : {}),
    saveLast: async (state) => {
      await saveCheckpoint(paths, model, 'last', { step: state.step, loopState: { ...state, batcher: { ...state.batcher } }, trainSeconds: trainSecondsNow() });
    },
    resumeFrom: resumeFrom?.loopState,
    progress: opts.progress,
  });
  seconds.train = loop.wallSeconds;
  seconds.trainAllSessions = trainSecondsNow();
  if (loop.interrupted) {
    model.dispose?.();
    return { interrupted: true, step: loop.state.step };
  }

  model.dispose?.();

  // ---- the final selection: the kept checkpoints on every validation user, the best of them becomes `best`
  let finalSelection: FinalSelection | undefined;
  if (finalK > 1) {
    finalSelection = await stage('finalSelection', async () => {
      // Best on the sample first (of equal values the earlier step, as the loop's `best`): it wins ties.
      // Read from the list, not the `best` pointer, so a selection repeated after a crash reports the same.
      const kept = readCandidates(paths);
      if (!kept.length) throw new RunDirError(paths.candidates, 'no candidate checkpoints were kept');
      const evaluated: { step: number; sample: number; all: number; metrics: SplitMetrics; seconds: number }[] = [];
      for (const c of kept) {
        const m = await deps.backend.load({ ...modelArgs, dir: candidateDir(paths, c.step), withTrainingState: false });
        const t = performance.now();
        try {
          const metrics = await evaluateModel(m, split.valid, dataset.numItems, evalOpts);
          const all = metrics.full[cfg.eval.metric];
          if (all === undefined || !Number.isFinite(all)) throw new Error(`final selection: no '${cfg.eval.metric}' for step ${c.step}`);
          evaluated.push({ step: c.step, sample: c.value, all, metrics, seconds: (performance.now() - t) / 1000 });
          log(`final selection: step ${c.step}: ${cfg.eval.metric} ${c.value.toFixed(4)} on the sample, ${all.toFixed(4)} on all ${metrics.users} validation users`);
        } finally {
          m.dispose?.();
        }
      }
      const chosen = evaluated.reduce((a, b) => (b.all > a.all ? b : a));
      pointBestAt(paths, chosen.step);
      // the shape of `eager eval <run> --split valid --json`, so nothing evaluates this checkpoint again
      writeJsonAtomic(paths.validAll, {
        run: paths.dir, checkpoint: 'best', step: chosen.step, split: 'valid', users: chosen.metrics.users, ranking: 'full', ...chosen.metrics.full,
        byRanking: { full: chosen.metrics.full, 'exclude-history': chosen.metrics['exclude-history'] },
        decode: cfg.eval.decode, seconds: { eval: chosen.seconds }, source: 'final selection',
      });
      return {
        metric: cfg.eval.metric, users: chosen.metrics.users, sampleBestStep: kept[0]!.step,
        candidates: evaluated.map(({ step, sample, all }) => ({ step, sample, all })).sort((a, b) => a.step - b.step),
        seconds: evaluated.reduce((s, e) => s + e.seconds, 0),
      };
    });
  }

  // ---- test, once, from the best checkpoint
  const best = readCheckpoint(paths, 'best');
  if (!best) throw new RunDirError(paths.checkpoints, 'training ended without a best checkpoint');
  let test: SplitMetrics = { split: 'test', users: 0, full: {}, 'exclude-history': {} };
  if (req.evaluateTest ?? true) {
    model = await deps.backend.load({ ...modelArgs, dir: best.dir, withTrainingState: false });
    test = await stage('test', () => evaluateModel(model, split.test, dataset.numItems, evalOpts));
    model.dispose?.();
  }
  seconds.total = (performance.now() - tStart) / 1000;
  const results: RunResults = {
    bestStep: best.step,
    stepsRun: loop.state.step,
    stoppedEarly: loop.state.stopped,
    metric: cfg.eval.metric,
    valid: refit ? { users: 0, full: {} } : { users: validSamples.size, full: best.metrics ?? {} },
    test,
    ...(finalSelection ? { finalSelection } : {}),
    seed: cfg.seed,
    config: runConfig,
    wallSeconds: seconds,
    finishedAt: new Date().toISOString(),
  };
  writeRunResults(paths, results);
  return { interrupted: false, results };
}
