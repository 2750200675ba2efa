/**
 * Training SASRec on the training parts of a leave-one-out split, with early stopping on
 * validation NDCG@10. Training sees only the validation part of the split (its type says so);
 * the test metrics are the caller's to compute, once, with {@link evaluateSasRec}.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SasRec as NativeSasRec } from '../../native/index.js';
import { callNative, native } from '../native.js';
import { trainingPart, type LeaveOneOutSplit, type SampleSet } from '../data/split.js';
import type { Dataset } from '../data/types.js';
import { parseConfig } from '../config/data.js';
import { DEFAULT_KS, evaluateRankedLists, type MetricResult, type RankingMode } from '../eval/metrics.js';
import { SasRecConfigSchema, type SasRecConfig, type SasRecConfigInput } from './config.js';

/** Sequences in the flat form the native model takes. */
export interface FlatSequences {
  items: Uint32Array;
  /** users + 1 entries; user u is items[offsets[u]..offsets[u+1]). */
  offsets: Uint32Array;
}

/** Flattens sequences (views are copied into one buffer). */
export function flattenSequences(seqs: readonly ArrayLike<number>[]): FlatSequences {
  const offsets = new Uint32Array(seqs.length + 1);
  for (let u = 0; u < seqs.length; u++) offsets[u + 1] = offsets[u]! + seqs[u]!.length;
  const items = new Uint32Array(offsets[seqs.length]!);
  seqs.forEach((s, u) => items.set(s, offsets[u]!));
  return { items, offsets };
}

/** Metrics of one split in both ranking modes. */
export interface SasRecSplitMetrics {
  full: MetricResult;
  excludeHistory: MetricResult;
}

/** One epoch's record (also what `onEpoch` receives). */
export interface SasRecEpoch {
  epoch: number;
  loss: number;
  seconds: number;
  /** Present on validation epochs (never in a refit). */
  valid?: SasRecSplitMetrics;
  /** Validation NDCG@10 in the selection mode (present on validation epochs). */
  score?: number;
  best: boolean;
}

/** Result of {@link trainSasRec}. */
export interface SasRecResult {
  config: SasRecConfig;
  /** Best epoch by validation NDCG@10 (a refit: the last epoch trained). */
  bestEpoch: number;
  epochs: SasRecEpoch[];
  /** Item embeddings of the best epoch, row-major [numItems, dim], row r = item id r+1. */
  embeddings: Float32Array;
  dim: number;
  /** The best epoch's validation (absent in a refit, which trains on the validation targets). */
  valid?: SasRecSplitMetrics;
  trainSeconds: number;
  /** The trained native model holding the best weights (for saving or scoring). */
  model: NativeSasRec;
}

/** Options of {@link trainSasRec}. */
export interface TrainSasRecOptions {
  onEpoch?: (e: SasRecEpoch) => void;
  /** Stops training after the current epoch when aborted (the best epoch so far is kept). */
  signal?: AbortSignal;
}

/** Builds the native model for a parsed config. */
export function createSasRec(cfg: SasRecConfig, numItems: number): NativeSasRec {
  const { epochs: _e, batchSize: _b, patience: _p, evalEvery: _v, selectMode: _s, trainOn: _t, seed, ...model } = cfg;
  return callNative(() => new native.SasRec(model, numItems, seed));
}

/**
 * Top-K lists of a sample set: both ranking modes (`full` and `exclude-history`), with each
 * sample's full history (every item before the target) as model input and exclusion set.
 */
export async function evaluateSasRec(
  model: NativeSasRec, set: SampleSet, ks: readonly number[] = DEFAULT_KS,
): Promise<SasRecSplitMetrics> {
  const hist = Array.from({ length: set.size }, (_, i) => set.fullHistory(i));
  const { items, offsets } = flattenSequences(hist);
  const k = Math.max(...ks);
  // One scoring pass for both modes: [2, users, k].
  const flat = await callNative(() => model.topKBothModes(items, offsets, k));
  const n = set.size;
  const lists = (mode: number) => Array.from({ length: n }, (_, i) => flat.subarray((mode * n + i) * k, (mode * n + i + 1) * k));
  const opts = (mode: RankingMode) => ({ ks, mode, split: set.part, history: (i: number) => hist[i]! });
  return {
    full: evaluateRankedLists(lists(0), set.targets, opts('full')),
    excludeHistory: evaluateRankedLists(lists(1), set.targets, opts('exclude-history')),
  };
}

function selectionScore(m: SasRecSplitMetrics, mode: SasRecConfig['selectMode']): number {
  return (mode === 'full' ? m.full : m.excludeHistory).ndcg[10] ?? 0;
}

/**
 * Trains SASRec on the training parts of `ds` (never a validation or test target), validates
 * every `evalEvery` epochs, stops after `patience` validations without improvement and restores
 * the best epoch. A refit (`trainOn: 'train+valid'`) trains exactly `epochs` epochs on the
 * training and validation targets and validates nothing. It never reads the test targets: a
 * caller that reports test (`eager baseline sasrec`) evaluates `split.test` once, itself, with
 * {@link evaluateSasRec}; the index build (`sasrecBehaviourTrainer`) never does.
 */
export async function trainSasRec(
  ds: Pick<Dataset, 'numItems' | 'sequences'>,
  split: Pick<LeaveOneOutSplit, 'valid'>,
  config: SasRecConfigInput = {},
  opts: TrainSasRecOptions = {},
): Promise<SasRecResult> {
  const cfg = parseConfig(SasRecConfigSchema, config, 'sasrec config');
  const model = createSasRec(cfg, ds.numItems);
  const refit = cfg.trainOn === 'train+valid';
  const train = flattenSequences(ds.sequences.map((s) => trainingPart(s, cfg.trainOn)));
  const ks = [...new Set([...DEFAULT_KS, 10])].sort((a, b) => a - b);
  const dir = mkdtempSync(join(tmpdir(), 'eager-sasrec-'));
  const bestPath = join(dir, 'best.safetensors');
  const epochs: SasRecEpoch[] = [];
  let best = { epoch: 0, score: -1, valid: undefined as SasRecSplitMetrics | undefined };
  let sinceBest = 0;
  const t0 = performance.now();
  try {
    for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
      const te = performance.now();
      const loss = await callNative(() => model.trainEpoch(train.items, train.offsets, cfg.batchSize));
      const rec: SasRecEpoch = { epoch, loss, seconds: 0, best: false };
      const last = epoch === cfg.epochs || opts.signal?.aborted === true;
      if (refit) {
        if (last) {
          best = { epoch, score: -1, valid: undefined };
          rec.best = true;
        }
      } else if (epoch % cfg.evalEvery === 0 || last) {
        rec.valid = await evaluateSasRec(model, split.valid, ks);
        rec.score = selectionScore(rec.valid, cfg.selectMode);
        if (rec.score > best.score) {
          best = { epoch, score: rec.score, valid: rec.valid };
          rec.best = true;
          sinceBest = 0;
          callNative(() => model.save(bestPath));
        } else {
          sinceBest++;
        }
      }
      rec.seconds = (performance.now() - te) / 1000;
      epochs.push(rec);
      opts.onEpoch?.(rec);
      if (sinceBest >= cfg.patience || opts.signal?.aborted) break;
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    if (!refit) {
      if (!best.valid) throw new Error('sasrec: no validation was run');
      callNative(() => model.load(bestPath));
    }
    return {
      config: cfg,
      bestEpoch: best.epoch,
      epochs,
      embeddings: callNative(() => model.embeddings()),
      dim: cfg.hidden,
      ...(best.valid ? { valid: best.valid } : {}),
      trainSeconds,
      model,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
