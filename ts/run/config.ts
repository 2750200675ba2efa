/**
 * The training-run configuration (`eager train --config <file>`): one zod schema, the single
 * source of truth for the file format and its defaults. Unknown keys are errors (a typo must not
 * silently fall back to a default); every error names the file and the field.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { formatZodIssues } from '../cli/flags.js';
import { DataLoadConfigSchema, SplitConfigSchema } from '../config/data.js';
import { LrScheduleSchema } from '../train/schedule.js';

/** The metric keys reported everywhere (`recall@5` ... `ndcg@20`). */
export const METRIC_KEYS = ['recall@5', 'recall@10', 'recall@20', 'ndcg@5', 'ndcg@10', 'ndcg@20'] as const;
export type MetricKey = (typeof METRIC_KEYS)[number];

/** Beam-search settings; validation, `eager eval` and serving use the same ones. */
export const DecodeConfigSchema = z.object({
  beamWidth: z.number().int().min(1).max(2048).default(20).describe('beam width per stream'),
  merge: z.enum(['confidence', 'rescore']).default('rescore')
    .describe("merging the streams: 'confidence' (paper: length-normalised code log-prob) or 'rescore' (released code: both streams' log-likelihoods summed)"),
  semanticWeight: z.number().min(0).max(100).default(1)
    .describe("'rescore': weight of the semantic stream's log-likelihood in the sum, the behaviour stream's being 1 (1: the released code's plain sum; choose it on validation)"),
}).strict();
export type DecodeConfig = z.infer<typeof DecodeConfigSchema>;

/** Validation / test settings. */
export const RunEvalConfigSchema = z.object({
  metric: z.enum(METRIC_KEYS).default('ndcg@10').describe('validation metric maximised by early stopping and checkpoint choice (full ranking)'),
  batchSize: z.number().int().min(1).max(65_536).default(256).describe('users per decoding call'),
  validUsers: z.number().int().min(0).default(0)
    .describe('validate during training on this many users (a fixed seeded sample; 0: all); the final test always uses all'),
  finalCandidates: z.number().int().min(1).max(20).default(1)
    .describe('when validating on a sample (validUsers > 0): keep the N checkpoints best on the sample, evaluate each on every validation user after training, and choose among them by that (1: the sample decides)'),
  extraForExclusion: z.number().int().min(0).max(1000).default(20)
    .describe('exclude-history ranking: items requested beyond max K, so that removing history items leaves K'),
  decode: DecodeConfigSchema.prefault({}),
}).strict();
export type RunEvalConfig = z.infer<typeof RunEvalConfigSchema>;

/** Everything `eager train` reads from its config file. */
export const TrainConfigSchema = z.object({
  model: z.record(z.string(), z.unknown()).default({}).describe('model config (validated by the model: dimensions, layers, tasks, device)'),
  data: DataLoadConfigSchema.strict().prefault({}).describe('how the dataset directory is read'),
  split: SplitConfigSchema.strict().prefault({}).describe('leave-one-out split (history length)'),
  schedule: LrScheduleSchema.strict().prefault({}).describe('learning-rate schedule'),
  batchSize: z.number().int().min(1).max(65_536).default(256).describe('training samples per update'),
  maxSteps: z.number().int().min(1).default(20_000).describe('number of updates'),
  stopAt: z.number().int().min(1).optional()
    .describe('end after this many updates (<= maxSteps) while the learning-rate schedule still spans maxSteps: a refit replays a selected run up to its chosen step'),
  evalEvery: z.number().int().min(1).default(1000).describe('validate every N updates (and at the last one)'),
  patience: z.number().int().min(0).default(5).describe('stop after N validations without improvement (0: never)'),
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(42).describe('seed of weights, dropout, negatives and batch order'),
  eval: RunEvalConfigSchema.prefault({}),
}).strict();
export type TrainConfig = z.infer<typeof TrainConfigSchema>;

/** A config error: the message names the source and every bad field. */
export class RunConfigError extends Error {
  readonly code = 'EAGER_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'RunConfigError';
  }
}

/** Validates a config object (`source` names it in errors, e.g. the file path). */
export function parseTrainConfig(raw: unknown, source = 'train config'): TrainConfig {
  const r = TrainConfigSchema.safeParse(raw ?? {});
  if (!r.success) throw new RunConfigError(`invalid ${source}:\n${formatZodIssues(r.error, source)}`);
  return r.data;
}

/** Reads and validates a JSON config file. */
export function readTrainConfigFile(path: string): TrainConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new RunConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new RunConfigError(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  return parseTrainConfig(raw, path);
}
