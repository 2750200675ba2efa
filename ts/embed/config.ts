/**
 * Settings of the semantic item embedding stage (`embedItems`). Single source of truth for the
 * config file section and the CLI flags.
 */
import { z } from 'zod';

/** Encoder ids. `tfidf-svd` is a no-download fallback, not a pretrained model. */
export const EncoderKindSchema = z.enum(['minilm', 'tfidf-svd', 'file']);
export type EncoderKind = z.infer<typeof EncoderKindSchema>;

/** Default directory `scripts/fetch-minilm.sh` fetches all-MiniLM-L6-v2 into. */
export const DEFAULT_MINILM_DIR = '.cache/models/all-MiniLM-L6-v2';

export const EmbedConfigSchema = z.object({
  encoder: EncoderKindSchema.default('minilm')
    .describe("'minilm' (pretrained all-MiniLM-L6-v2, 384-d), 'tfidf-svd' (no-download fallback) or 'file' (precomputed)"),
  modelDir: z.string().min(1).default(DEFAULT_MINILM_DIR)
    .describe('HF-format model directory for minilm (fetch with scripts/fetch-minilm.sh)'),
  maxLen: z.number().int().min(2).max(512).default(128)
    .describe('max tokens per item text incl. [CLS]/[SEP] (sentence-transformers uses 256; 128 fits every item text of the shared datasets)'),
  batchSize: z.number().int().min(1).max(4096).default(64).describe('texts per forward pass'),
  tfidfDim: z.number().int().min(1).max(4096).default(64).describe('output dimension of tfidf-svd'),
  seed: z.number().int().min(0).max(0xffffffff).default(0).describe('seed of the tfidf-svd random projection'),
  file: z.string().min(1).optional().describe("embedding file for encoder 'file' (.npy or .safetensors, row r = item id r+1)"),
  fileTensor: z.string().min(1).optional().describe('tensor name inside a .safetensors embedding file'),
  cacheDir: z.string().min(1).optional().describe('directory of cached embeddings; unset = no cache'),
}).superRefine((c, ctx) => {
  if (c.encoder === 'file' && c.file === undefined) {
    ctx.addIssue({ code: 'custom', path: ['file'], message: "required when encoder is 'file'" });
  }
});
export type EmbedConfig = z.infer<typeof EmbedConfigSchema>;
