/**
 * The generic training loop: schedule, batches, validation with early stopping, checkpoints,
 * JSONL log, progress, Ctrl-C and non-finite losses. It knows nothing about EAGER: any model
 * implementing {@link TrainableModel} can be driven by it.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SampleSet } from '../data/split.js';
import { EpochBatcher, type BatcherPosition, type TrainBatch } from './batcher.js';
import { learningRate, type LrSchedule } from './schedule.js';
import { ProgressReporter } from './progress.js';

/** What the loop needs from a model. */
export interface TrainableModel {
  /** One update on a batch; resolves to the loss parts (must include `total`). */
  trainStep(batch: TrainBatch): Promise<Record<string, number>>;
  setLearningRate(lr: number): void;
}

/** State saved with every checkpoint so that `--resume` continues exactly. */
export interface LoopState {
  step: number;
  batcher: BatcherPosition;
  bestMetric: number;
  bestStep: number;
  evalsWithoutImprovement: number;
  stopped: boolean;
}

export interface LoopOptions {
  runDir: string;
  train: SampleSet;
  batchSize: number;
  seed: number;
  maxSteps: number;
  /** End after this many updates (default maxSteps); the schedule still spans maxSteps. */
  stopAt?: number;
  schedule: LrSchedule;
  evalEvery: number;
  /** Stop after this many validations without improvement (0: never). */
  patience: number;
  /**
   * Validation: returns the metrics; `metricKey` of it is maximised. Without it (a refit, whose
   * training data holds the validation targets) nothing is validated: the last checkpoint is
   * saved every `evalEvery` updates and the model at the end is saved as `best`.
   */
  validate?: () => Promise<Record<string, number>>;
  metricKey: string;
  /** Persist the model as the best checkpoint (called when validation improves). */
  saveBest: (state: LoopState, metrics: Record<string, number>) => Promise<void>;
  /** Called after every validation (after `saveBest`): e.g. keep the checkpoint for a final selection. */
  saveCandidate?: (state: LoopState, metrics: Record<string, number>) => Promise<void>;
  /** Persist the model + optimiser + loop state for resuming. */
  saveLast: (state: LoopState) => Promise<void>;
  resumeFrom?: LoopState;
  progress?: ProgressReporter;
  /** Called after each validation (for the CLI). */
  onValidation?: (step: number, metrics: Record<string, number>, improved: boolean) => void;
}

/** Thrown when a loss is NaN or infinite; the last good checkpoint stays on disk. */
export class NonFiniteLossError extends Error {
  readonly code = 'EAGER_NUMERIC';
  constructor(step: number, losses: Record<string, number>) {
    super(`non-finite loss at step ${step}: ${JSON.stringify(losses)}; the last good checkpoint is kept`);
    this.name = 'NonFiniteLossError';
  }
}

export interface LoopResult {
  state: LoopState;
  interrupted: boolean;
  wallSeconds: number;
}

/** Runs the loop until maxSteps, early stop, or SIGINT (which saves and returns). */
export async function runTrainingLoop(model: TrainableModel, opt: LoopOptions): Promise<LoopResult> {
  mkdirSync(opt.runDir, { recursive: true });
  const logPath = join(opt.runDir, 'train-log.jsonl');
  const log = (rec: Record<string, unknown>) => appendFileSync(logPath, `${JSON.stringify(rec)}\n`);
  const state: LoopState = opt.resumeFrom
    ? { ...opt.resumeFrom, batcher: { ...opt.resumeFrom.batcher } }
    : { step: 0, batcher: { epoch: 0, offset: 0 }, bestMetric: -Infinity, bestStep: -1, evalsWithoutImprovement: 0, stopped: false };
  const batcher = new EpochBatcher(opt.train, opt.batchSize, opt.seed, state.batcher);
  const progress = opt.progress ?? new ProgressReporter();

  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  const t0 = Date.now();
  let windowStart = Date.now();
  let windowSamples = 0;
  const end = Math.min(opt.stopAt ?? opt.maxSteps, opt.maxSteps);
  try {
    while (state.step < end && !state.stopped) {
      if (interrupted) break;
      const lr = learningRate(state.step, opt.schedule, opt.maxSteps);
      model.setLearningRate(lr);
      const batch = batcher.next();
      // The loop owns `step` and `lr`; a model's report may echo them beside its loss parts.
      const { step: _s, lr: _lr, ...losses } = await model.trainStep(batch);
      if (!Object.values(losses).every(Number.isFinite)) throw new NonFiniteLossError(state.step, losses);
      state.step++;
      state.batcher = batcher.position;
      windowSamples += batch.batchSize;
      const now = Date.now();
      const sps = (windowSamples * 1000) / Math.max(1, now - windowStart);
      if (now - windowStart > 20_000) {
        windowStart = now;
        windowSamples = 0;
      }
      log({ kind: 'step', step: state.step, epoch: state.batcher.epoch, lr, ...losses, samplesPerSec: Math.round(sps), t: (now - t0) / 1000 });
      progress.update({ step: state.step, totalSteps: end, losses, samplesPerSec: sps, lr });

      const lastStep = state.step === end;
      if (!opt.validate) {
        if (lastStep) {
          state.bestStep = state.step;
          await opt.saveBest(state, {});
        }
        if (state.step % opt.evalEvery === 0 || lastStep) await opt.saveLast(state);
      } else if (state.step % opt.evalEvery === 0 || lastStep) {
        const metrics = await opt.validate();
        const value = metrics[opt.metricKey];
        if (value === undefined || !Number.isFinite(value)) {
          throw new Error(`validation did not produce metric '${opt.metricKey}' (got ${JSON.stringify(metrics)})`);
        }
        const improved = value > state.bestMetric;
        if (improved) {
          state.bestMetric = value;
          state.bestStep = state.step;
          state.evalsWithoutImprovement = 0;
          await opt.saveBest(state, metrics);
        } else {
          state.evalsWithoutImprovement++;
          if (opt.patience > 0 && state.evalsWithoutImprovement >= opt.patience) state.stopped = true;
        }
        await opt.saveCandidate?.(state, metrics);
        log({ kind: 'valid', step: state.step, ...metrics, improved, best: state.bestMetric, bestStep: state.bestStep });
        opt.onValidation?.(state.step, metrics, improved);
        progress.line(
          `valid @${state.step}: ${opt.metricKey}=${value.toFixed(4)}${improved ? ' (best)' : ''} ` +
            Object.entries(metrics).filter(([k]) => k !== opt.metricKey).map(([k, v]) => `${k}=${v.toFixed(4)}`).join(' '),
        );
        await opt.saveLast(state);
      }
    }
    if (interrupted) {
      await opt.saveLast(state);
      progress.line(`interrupted at step ${state.step}: checkpoint saved; continue with --resume`);
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  return { state, interrupted, wallSeconds: (Date.now() - t0) / 1000 };
}
