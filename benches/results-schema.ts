/**
 * The JSON files under `benches/results/`: one per (dataset, configuration) of the reproduction
 * (`npm run bench:repro`), one per SASRec baseline, and one per speed comparison
 * (`npm run bench:speed`). The results page (`scripts/results-page.ts`) is generated from these
 * files alone, so each carries everything the page shows (metrics, curves, config, provenance).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { formatZodIssues } from '../ts/cli/flags.js';

/** `recall@5` ... `ndcg@20` of one (split, ranking mode). */
export const FlatMetricsSchema = z.record(z.string(), z.number());
export type FlatMetrics = z.infer<typeof FlatMetricsSchema>;

/** Metrics of one split in both ranking modes (`exclude-history` may be empty). */
export const SplitMetricsSchema = z.object({
  users: z.number().int().min(0),
  full: FlatMetricsSchema,
  'exclude-history': FlatMetricsSchema.default({}),
});

/**
 * A refit: a selected run (`of`, its bench result) trained again from scratch with the same config
 * (and, for EAGER, the same index) on the training and validation targets, up to the update
 * (EAGER) or epoch (SASRec) that validation chose; nothing is selected on it and its test is
 * evaluated once.
 */
export const RefitSchema = z.object({
  of: z.string().min(1).describe('the selected run\'s bench result, relative to the package root'),
  step: z.number().int().min(1).describe('the update (EAGER) or epoch (SASRec) the selected run chose on validation, where the refit stops'),
  selectedValid: SplitMetricsSchema.optional().describe('the selected run\'s validation on every user, for reference'),
  selectedTest: SplitMetricsSchema.describe('the selected run\'s own test metrics'),
  index: z.object({
    behaviourEpochs: z.number().int().min(1).describe('the epochs of the selected index\'s SASRec, chosen on validation when it was built'),
  }).strict().optional()
    .describe('EAGER only, with `--refit-index`: the index was built again too, its SASRec trained on train + valid for behaviourEpochs epochs (new behaviour embeddings and codes); absent: the selected run\'s own index'),
});
export type Refit = z.infer<typeof RefitSchema>;
export type SplitMetrics = z.infer<typeof SplitMetricsSchema>;

/** Where and with what a result was produced. */
export const ProvenanceSchema = z.object({
  createdAt: z.string(),
  commit: z.string().describe('`git rev-parse HEAD`'),
  dirty: z.boolean().describe('the working tree had uncommitted changes'),
  machine: z.object({
    os: z.string(),
    cpuModel: z.string(),
    cpus: z.number().int(),
    memoryGiB: z.number(),
    /** Widest vector extension the CPU reports; the model name alone ("AMD EPYC") does not tell hosts apart. */
    simd: z.string().optional().describe('widest vector instruction set the CPU reports (avx512, avx2, avx, neon), from /proc/cpuinfo; absent where unknown'),
    loadAverageAtStart: z.array(z.number()).optional(),
  }),
  versions: z.record(z.string(), z.string()),
});
export type Provenance = z.infer<typeof ProvenanceSchema>;

/** Per-step training curve (bucket means of the loss parts) and validation points. */
export const CurvesSchema = z.object({
  /** Each point: `step` plus the mean of every loss part over the steps of its bucket. */
  loss: z.array(z.record(z.string(), z.number())),
  /** Each point: `step` plus the validation metrics logged at that step (full ranking). */
  valid: z.array(z.record(z.string(), z.number())),
});
export type Curves = z.infer<typeof CurvesSchema>;

/** One EAGER reproduction (or ablation) on one dataset. */
export const EagerResultSchema = z.object({
  format: z.literal('eager-bench-result'),
  version: z.literal(1),
  kind: z.literal('eager'),
  dataset: z.string().min(1),
  configName: z.string().min(1),
  description: z.string().default(''),
  seed: z.number().int(),
  selection: z.object({
    metric: z.string(),
    bestStep: z.number().int(),
    stepsRun: z.number().int(),
    stoppedEarly: z.boolean(),
    validUsers: z.number().int(),
  }),
  valid: z.object({ users: z.number().int(), full: FlatMetricsSchema }),
  /**
   * The chosen checkpoint evaluated on every validation user (training validates on a fixed
   * sample, which is too noisy to compare runs by); runs are compared on this when they all have it.
   */
  validAll: SplitMetricsSchema.optional(),
  /**
   * With `eval.finalCandidates` > 1: the checkpoints best on the sample, each evaluated on every
   * validation user after training; `selection.bestStep` is the best of them on all users.
   */
  finalSelection: z.object({
    metric: z.string(),
    users: z.number().int(),
    sampleBestStep: z.number().int(),
    candidates: z.array(z.object({ step: z.number().int(), sample: z.number(), all: z.number() })).min(1),
    seconds: z.number(),
  }).optional(),
  test: SplitMetricsSchema,
  /** A refit of a selected run (see {@link RefitSchema}); its `valid` is empty. */
  refit: RefitSchema.optional(),
  /** Seconds per stage: index (and its parts), train, validAll, test, total. */
  wallSeconds: z.record(z.string(), z.number()),
  /** The index was reused from an earlier build with the same index config (its build time is in wallSeconds.index). */
  indexReused: z.boolean().default(false),
  config: z.object({ index: z.unknown(), train: z.unknown() }),
  indexInfo: z.record(z.string(), z.unknown()).default({}),
  curves: CurvesSchema.optional(),
  run: z.string().describe('the run directory (not part of the repository)'),
  /** When the run started and finished training (from the run directory); `provenance` is the collecting invocation's. */
  trained: z.object({ startedAt: z.string().optional(), finishedAt: z.string().optional() }).optional(),
  provenance: ProvenanceSchema,
});
export type EagerResult = z.infer<typeof EagerResultSchema>;

/** The SASRec baseline on one dataset (`eager baseline sasrec`); `refit` as for EAGER. */
export const SasrecResultSchema = z.object({
  format: z.literal('eager-bench-result'),
  version: z.literal(1),
  kind: z.literal('sasrec'),
  dataset: z.string().min(1),
  configName: z.literal('sasrec'),
  seed: z.number().int(),
  selection: z.object({ metric: z.string(), bestEpoch: z.number().int(), epochsRun: z.number().int() }),
  valid: SplitMetricsSchema,
  test: SplitMetricsSchema,
  wallSeconds: z.record(z.string(), z.number()),
  config: z.unknown(),
  curves: z.object({ epochs: z.array(z.record(z.string(), z.number())) }).optional(),
  refit: RefitSchema.extend({ index: z.undefined({ error: 'a SASRec refit has no index to rebuild' }).optional() }).optional(),
  provenance: ProvenanceSchema,
});
export type SasrecResult = z.infer<typeof SasrecResultSchema>;

/**
 * The count-based reference recommenders on one dataset (`--model simple`): no training and
 * no selection, so validation and test are both reported (the page uses the pair to show how
 * much harder the test targets are).
 */
export const SimpleResultSchema = z.object({
  format: z.literal('eager-bench-result'),
  version: z.literal(1),
  kind: z.literal('simple'),
  dataset: z.string().min(1),
  configName: z.literal('simple'),
  models: z.record(z.string(), z.object({ valid: SplitMetricsSchema, test: SplitMetricsSchema })),
  /** The same models counted on the training and validation targets (a refit; nothing to select), tested. */
  refit: z.record(z.string(), z.object({ test: SplitMetricsSchema })).optional(),
  wallSeconds: z.record(z.string(), z.number()),
  provenance: ProvenanceSchema,
});
export type SimpleResult = z.infer<typeof SimpleResultSchema>;

/** One side of the speed comparison: each measure, or null with the reason it is missing. */
export const SpeedSideSchema = z.object({
  trainSamplesPerSec: z.number().nullable(),
  inferenceUsersPerSec: z.number().nullable(),
  kmeansSeconds: z.number().nullable(),
  peakRssMb: z.number().nullable(),
  notes: z.array(z.string()).default([]),
  raw: z.array(z.unknown()).default([]),
});
export type SpeedSide = z.infer<typeof SpeedSideSchema>;

/** A side-by-side speed run: ours vs `../shared/torch-ref/eager_ref.py`, same machine, same run. */
export const SpeedResultSchema = z.object({
  format: z.literal('eager-bench-result'),
  version: z.literal(1),
  kind: z.literal('speed'),
  workload: z.string(),
  threads: z.number().int(),
  ours: SpeedSideSchema,
  torch: SpeedSideSchema,
  order: z.array(z.string()).describe('the order the measurements ran in'),
  provenance: ProvenanceSchema,
});
export type SpeedResult = z.infer<typeof SpeedResultSchema>;

/**
 * An ensemble of EAGER runs (`npm run bench:ensemble`): the members' stage-one runs evaluated
 * together on every validation user; then, once, their refits together on test. Members are
 * bench results of finished runs on one dataset; each member's refit is the refit result whose
 * `refit.of` is that member (on the member's own index).
 */
export const EnsembleResultSchema = z.object({
  format: z.literal('eager-bench-result'),
  version: z.literal(1),
  kind: z.literal('ensemble'),
  dataset: z.string().min(1),
  name: z.string().min(1).regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" and "-"'),
  description: z.string().default(''),
  members: z.array(z.object({
    result: z.string().min(1).describe('the member\'s bench result, relative to the package root'),
    configName: z.string().min(1),
    seed: z.number().int(),
    step: z.number().int().describe('its chosen update'),
    validAll: SplitMetricsSchema.describe('the member alone on every validation user'),
    refit: z.object({ result: z.string().min(1), test: SplitMetricsSchema }).optional()
      .describe('its refit (absent until the test stage), with the refit alone on test'),
  })).min(2),
  valid: SplitMetricsSchema.describe('the stage-one runs together, every validation user'),
  test: SplitMetricsSchema.optional().describe('the refits together, test, evaluated once (absent until the test stage)'),
  wallSeconds: z.record(z.string(), z.number()),
  provenance: ProvenanceSchema,
});
export type EnsembleResult = z.infer<typeof EnsembleResultSchema>;

export const BenchResultSchema = z.discriminatedUnion('kind', [EagerResultSchema, SasrecResultSchema, SimpleResultSchema, SpeedResultSchema, EnsembleResultSchema]);
export type BenchResult = z.infer<typeof BenchResultSchema>;

/** A result file and what it holds. */
export interface LoadedResult {
  file: string;
  result: BenchResult;
}

/** Validates one result object; the error names the file and the field. */
export function parseBenchResult(raw: unknown, file: string): BenchResult {
  const r = BenchResultSchema.safeParse(raw);
  if (!r.success) throw new Error(`invalid bench result:\n${formatZodIssues(r.error, file)}`);
  return r.data;
}

/** Reads every `*.json` in `dir` (sorted by name); files of other formats are errors. */
export function readBenchResults(dir: string): LoadedResult[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names.map((n) => {
    const file = join(dir, n);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`${file}: not valid JSON: ${(e as Error).message}`);
    }
    return { file, result: parseBenchResult(raw, file) };
  });
}
