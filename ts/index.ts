/**
 * `@eager/native`: the EAGER two-stream generative recommender for Node.js.
 *
 * - data: readers for the project format, RecBole atomic files, Amazon 2014 dumps and CSV,
 *   leave-one-out split, item-text templates, a seeded synthetic generator;
 * - eval: Recall@K / NDCG@K in two labelled ranking modes;
 * - train: the generic training loop (schedule, batches, early stopping, checkpoints).
 *
 * @packageDocumentation
 */
export { native, EagerNativeError, callNative } from './native.js';
export { UsageError, parseFlags, formatZodIssues } from './cli/flags.js';
export * from './data/index.js';
export * from './eval/index.js';
export { writeFileAtomic, writeJsonAtomic } from './util/fs.js';
export { LrScheduleSchema, learningRate, type LrSchedule } from './train/schedule.js';
export { EpochBatcher, type TrainBatch, type BatcherPosition } from './train/batcher.js';
export { runTrainingLoop, NonFiniteLossError, type TrainableModel, type LoopOptions, type LoopState, type LoopResult } from './train/loop.js';
export { ProgressReporter } from './train/progress.js';
export * from './codes/index.js';
export * from './embed/index.js';
export { Recommender, RecommendError } from './recommender.js';
export type * from './recommender.js';
export { loadRun } from './run/layout.js';
export { ensembleRank, ensembleModel, type EnsembleMember } from './run/ensemble.js';
export type { LoadedIndex, IndexStream, RunModel, ModelBackend, DecodeSettings, RankedBatch } from './run/types.js';
export { buildIndex, writeIndex, loadIndex, asLoadedIndex } from './indexing/build.js';
export { IndexConfigSchema, type IndexConfig, type IndexConfigInput } from './indexing/config.js';
export * from './sasrec/index.js';
export * from './model/index.js';
