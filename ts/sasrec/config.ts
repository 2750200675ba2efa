/**
 * SASRec settings: the model (mirrors the Rust `SasRecConfig`, checked again there) and its
 * training loop (epochs, batch, early stopping on validation NDCG@10). One schema for config
 * files, the `eager baseline sasrec` flags and `index`'s `behaviour.sasrec` section.
 */
import { z } from 'zod';
import { overrideFlags } from '../cli/flags.js';
import { TrainOnSchema } from '../config/data.js';

/** Model and optimiser of SASRec (defaults: RecBole's SASRec with full-softmax cross-entropy). */
export const SasRecModelSchema = z.object({
  hidden: z.number().int().min(1).max(4096).default(64).describe('embedding / hidden width (= behaviour embedding dim)'),
  layers: z.number().int().min(1).max(64).default(2).describe('causal self-attention layers'),
  heads: z.number().int().min(1).max(64).default(2).describe('attention heads (hidden % heads == 0)'),
  ffnDim: z.number().int().min(1).max(65536).default(256).describe('feed-forward width'),
  dropout: z.number().min(0).lt(1).default(0.5).describe('dropout on embeddings and sub-block outputs'),
  attnDropout: z.number().min(0).lt(1).default(0.5).describe('dropout on attention probabilities'),
  maxLen: z.number().int().min(1).max(4096).default(50).describe('longest history the model reads'),
  activation: z.enum(['gelu', 'relu']).default('gelu').describe('feed-forward activation'),
  normFirst: z.boolean().default(false).describe('pre-LN (original SASRec) instead of post-LN (RecBole)'),
  layerNormEps: z.number().positive().default(1e-12).describe('LayerNorm epsilon'),
  initStd: z.number().positive().default(0.02).describe('std of the normal weight init'),
  lr: z.number().positive().default(1e-3).describe('Adam learning rate'),
  weightDecay: z.number().min(0).default(0).describe('decoupled weight decay (0: plain Adam)'),
  device: z.string().regex(/^(cpu|cuda(:\d+)?)$/, 'cpu, cuda or cuda:N').default('cpu').describe('compute device'),
});
export type SasRecModelConfig = z.infer<typeof SasRecModelSchema>;

/** Model + training loop. */
export const SasRecConfigSchema = SasRecModelSchema.extend({
  epochs: z.number().int().min(1).max(100000).default(200).describe('maximum epochs'),
  batchSize: z.number().int().min(1).max(1 << 16).default(256).describe('training windows per batch'),
  patience: z.number().int().min(1).default(10).describe('stop after this many evaluations without a better validation NDCG@10'),
  evalEvery: z.number().int().min(1).default(1).describe('validate every N epochs'),
  selectMode: z.enum(['full', 'exclude-history']).default('full')
    .describe('ranking mode of the validation NDCG@10 that picks the epoch'),
  seed: z.number().int().min(0).max(0xffffffff).default(2024).describe('seed of init, shuffling and dropout'),
  trainOn: TrainOnSchema.default('train')
    .describe("train: the training parts, epoch chosen on validation; train+valid: a refit that trains exactly `epochs` epochs on the training and validation targets, validates nothing, tests once"),
});
export type SasRecConfig = z.infer<typeof SasRecConfigSchema>;
/** What callers may pass (every field optional). */
export type SasRecConfigInput = z.input<typeof SasRecConfigSchema>;

/** Flags of `eager baseline sasrec <dataset>` (every SASRec setting can also be a flag). */
export const SasRecBaselineFlagsSchema = overrideFlags(SasRecConfigSchema).extend({
  out: z.string().min(1).describe('output directory (metrics.json, model.safetensors, embeddings.npy, log.jsonl)'),
  config: z.string().min(1).optional().describe('JSON config file (SasRecConfig); flags override it'),
  json: z.boolean().default(false).describe('print the metrics as JSON'),
  help: z.boolean().default(false).describe('show this help'),
});
