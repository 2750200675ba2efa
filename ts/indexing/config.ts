/**
 * Configuration of `eager index`: where each stream's item embeddings come from and how the
 * codes are clustered. Reuses the stage schemas (embedding, codes, split, text template), so each
 * setting has exactly one definition.
 */
import { z } from 'zod';
import { ItemTextTemplateSchema, SplitConfigSchema } from '../config/data.js';
import { EmbedConfigSchema } from '../embed/config.js';
import { BuildCodesOptionsSchema } from '../codes/config.js';

/** Behaviour embeddings: trained SASRec (on the training part; train + valid for a refit's index) or a precomputed file. */
export const BehaviourSourceSchema = z.discriminatedUnion('source', [
  z.object({
    source: z.literal('sasrec'),
    /** SASRec settings (see `ts/sasrec`), validated by its own schema. */
    sasrec: z.record(z.string(), z.unknown()).default({}),
  }),
  z.object({
    source: z.literal('file'),
    path: z.string().min(1).describe('.npy or .safetensors, one row per item id'),
    tensor: z.string().min(1).optional().describe('tensor name inside a .safetensors file'),
  }),
]);
export type BehaviourSource = z.infer<typeof BehaviourSourceSchema>;

export const IndexConfigSchema = z.object({
  seed: z.number().int().min(0).default(2024).describe('seed of every random draw of the index build'),
  split: SplitConfigSchema.extend({
    // The index's split only holds out the validation and test targets; what SASRec trains on is behaviour.sasrec.trainOn.
    trainOn: z.literal('train', { error: 'the index always splits off validation and test; set behaviour.sasrec.trainOn to train its SASRec on train + valid' })
      .default('train'),
  }).prefault({}),
  text: ItemTextTemplateSchema.prefault({}),
  behaviour: BehaviourSourceSchema.prefault({ source: 'sasrec' }),
  semantic: EmbedConfigSchema.prefault({ cacheDir: '.cache/embeddings' }),
  codes: BuildCodesOptionsSchema.omit({ seed: true }).prefault({}),
});
export type IndexConfig = z.infer<typeof IndexConfigSchema>;
/** What callers may pass (every field optional). */
export type IndexConfigInput = z.input<typeof IndexConfigSchema>;

/** Flags of `eager index <dataset>`; the config file is the full {@link IndexConfigSchema}. */
export const IndexFlagsSchema = z.object({
  out: z.string().min(1).describe('output directory of the index'),
  config: z.string().min(1).optional().describe('JSON config file (IndexConfig)'),
  semantic: z.enum(['minilm', 'tfidf-svd']).optional().describe('override semantic.encoder'),
  k: z.number().int().min(2).optional().describe('override codes.k'),
  seed: z.number().int().min(0).optional().describe('override seed'),
  json: z.boolean().default(false).describe('print the manifest as JSON'),
  help: z.boolean().default(false).describe('show this help'),
});
export type IndexFlags = z.infer<typeof IndexFlagsSchema>;
