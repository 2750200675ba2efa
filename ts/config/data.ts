/**
 * Zod schemas for the data layer, the evaluation and their CLI commands: the single source of
 * truth for both programmatic config and command-line flags (parsed by `ts/cli/flags.ts`).
 * Validation errors name the field (config) or the flag (CLI).
 */
import { z } from 'zod';

/** Dataset formats `loadDataset` understands (`auto` detects from the directory contents). */
export const DatasetFormatSchema = z.enum(['auto', 'project', 'recbole', 'amazon', 'csv']);

/** How to read a dataset directory. */
export const DataLoadConfigSchema = z.object({
  format: DatasetFormatSchema.default('auto').describe('dataset format (auto: detect from the files)'),
  kcore: z.number().int().min(0).default(5).describe('k-core threshold for raw formats (0 or 1: no filtering)'),
  onBadLine: z.enum(['error', 'skip']).default('error')
    .describe('raw formats: stop at a malformed line (error) or count and report it (skip)'),
  name: z.string().min(1).optional().describe('RecBole atomic-file name or Amazon category (default: the only one)'),
});
export type DataLoadConfig = z.infer<typeof DataLoadConfigSchema>;

/** One field in an item-text template: a field name, or a field with a label / list joiner. */
export const ItemTextFieldSchema = z.union([
  z.string().min(1),
  z.object({
    field: z.string().min(1).describe('item field name, e.g. title, brand, categories'),
    label: z.string().optional().describe('printed before the value, e.g. "Brand: "'),
    join: z.string().optional().describe('joiner for list values (default: the template listSeparator)'),
  }),
]);
export type ItemTextField = z.infer<typeof ItemTextFieldSchema>;

/** How an item's text is assembled from its fields. Missing or empty fields are skipped. */
export const ItemTextTemplateSchema = z.object({
  fields: z.array(ItemTextFieldSchema).min(1).default(['title', 'brand', 'categories'])
    .describe('fields in order; missing ones are skipped'),
  separator: z.string().default('; ').describe('between fields'),
  listSeparator: z.string().default(', ').describe('between the elements of a list field'),
});
export type ItemTextTemplate = z.infer<typeof ItemTextTemplateSchema>;

/**
 * What trains: the training part of each sequence only (model selection on the validation
 * targets), or also the validation target (a refit after selection, as the paper's released code
 * trains; nothing can be validated then). The test target never trains.
 */
export const TrainOnSchema = z.enum(['train', 'train+valid']);
export type TrainOn = z.infer<typeof TrainOnSchema>;

/** Leave-one-out split settings. */
export const SplitConfigSchema = z.object({
  maxHistory: z.number().int().min(1).max(4096).default(20).describe('history length T (most recent items kept)'),
  trainOn: TrainOnSchema.default('train')
    .describe("training samples: the training part only ('train'), or also each user's validation target ('train+valid': a refit after model selection; nothing can be validated then)"),
});
export type SplitConfig = z.infer<typeof SplitConfigSchema>;

/** Evaluation settings. */
export const MetricsConfigSchema = z.object({
  ks: z.array(z.number().int().min(1)).min(1).default([5, 10, 20]).describe('cut-offs K for Recall@K and NDCG@K'),
});
export type MetricsConfig = z.infer<typeof MetricsConfigSchema>;

/** The synthetic dataset generator (see `ts/data/synthetic.ts`). */
export const SyntheticConfigSchema = z.object({
  seed: z.number().int().default(42).describe('PRNG seed; same seed, same dataset'),
  numItems: z.number().int().min(20).max(1_000_000).default(600).describe('number of items'),
  numUsers: z.number().int().min(10).max(10_000_000).default(2000).describe('number of users'),
  numCategories: z.number().int().min(2).max(12).default(8).describe('number of top-level categories (<= 12 word lists)'),
  minLength: z.number().int().min(3).default(5).describe('shortest user sequence'),
  maxLength: z.number().int().min(3).default(20).describe('longest user sequence'),
  chainLength: z.number().int().min(2).default(5).describe('items in one co-purchase chain'),
  crossCategoryChains: z.number().min(0).max(1).default(0.3)
    .describe('fraction of chains that mix categories (behaviour disagreeing with text)'),
  followChain: z.number().min(0).max(1).default(0.5).describe('probability that the next item follows the chain'),
  sameCategory: z.number().min(0).max(1).default(0.3)
    .describe('probability of a random item of the current category (text-consistent noise)'),
}).refine((c) => c.minLength <= c.maxLength, { message: 'minLength must be <= maxLength', path: ['minLength'] })
  .refine((c) => c.followChain + c.sameCategory <= 1, { message: 'followChain + sameCategory must be <= 1', path: ['followChain'] });
export type SyntheticConfig = z.infer<typeof SyntheticConfigSchema>;

// ---------------------------------------------------------------- CLI flags

/** `eager data stats <dir>` flags. */
export const DataStatsFlagsSchema = z.object({
  json: z.boolean().default(false).describe('print the statistics as JSON'),
  format: DatasetFormatSchema.default('auto').describe('auto|project|recbole|amazon|csv (default auto: detect)'),
  kcore: z.number().int().min(0).default(5).describe('k-core threshold for raw formats (default 5)'),
  onBadLine: z.enum(['error', 'skip']).default('error').describe('error|skip: raw formats stop at or count malformed lines'),
  name: z.string().min(1).optional().describe('RecBole file name / Amazon category'),
  help: z.boolean().default(false).describe('show this help'),
});
export type DataStatsFlags = z.infer<typeof DataStatsFlagsSchema>;

/** `eager demo` flags. */
export const DemoFlagsSchema = z.object({
  seed: z.number().int().default(42).describe('synthetic data seed'),
  users: z.number().int().min(10).default(2000).describe('synthetic users'),
  items: z.number().int().min(20).default(600).describe('synthetic items'),
  maxHistory: z.number().int().min(1).default(20).describe('history length T'),
  ks: z.string().regex(/^\s*[1-9]\d*\s*(,\s*[1-9]\d*\s*)*$/, 'expected comma-separated positive integers, e.g. 5,10,20')
    .transform((s) => s.split(',').map((k) => Number(k.trim())))
    .default([5, 10, 20]).describe('cut-offs K, comma-separated (default 5,10,20)'),
  json: z.boolean().default(false).describe('print the results as JSON'),
  help: z.boolean().default(false).describe('show this help'),
});
export type DemoFlags = z.infer<typeof DemoFlagsSchema>;

/**
 * Validates a config object, turning zod issues into one Error that names every field
 * (`what` prefixes the message, e.g. "synthetic config").
 */
export function parseConfig<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const msgs = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  const err = new Error(`invalid ${what}: ${msgs.join('; ')}`) as Error & { code: string };
  err.code = 'EAGER_CONFIG';
  throw err;
}
