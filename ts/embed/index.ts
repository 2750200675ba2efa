/**
 * Semantic item embeddings: item text (template from `ts/data/itemText.ts`) -> one unit-norm
 * row per item id, by the pretrained all-MiniLM-L6-v2 encoder (Rust core), the no-download
 * `tfidf-svd` fallback, or a precomputed file. Cached per (dataset fingerprint, text template,
 * item texts, encoder id).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { itemTexts } from '../data/itemText.js';
import type { ItemMeta } from '../data/types.js';
import { ItemTextTemplateSchema, parseConfig, type ItemTextTemplate } from '../config/data.js';
import { callNative, EagerNativeError, native } from '../native.js';
import { embedCacheKey, readEmbedCache, textsSha256, writeEmbedCache, type EmbedCacheKeyParts } from './cache.js';
import { EmbedConfigSchema, type EmbedConfig } from './config.js';

export { EmbedConfigSchema, EncoderKindSchema, DEFAULT_MINILM_DIR, type EmbedConfig, type EncoderKind } from './config.js';
export { embedCacheKey, encodeNpyF32, textsSha256 } from './cache.js';

/** The dataset fields `embedItems` reads. */
export interface EmbedDataset {
  /** Item metadata by dense id; `items[0]` is an unused placeholder (as in `Dataset`). */
  items: ItemMeta[];
  /** Dataset fingerprint (e.g. `datasetFingerprint(ds)`); part of the cache key. */
  fingerprint?: string;
}

/** Options of {@link embedItems}: the config plus the text template and a progress hook. */
export type EmbedItemsOptions = Partial<EmbedConfig> & {
  template?: Partial<ItemTextTemplate>;
  /** Called with (done, total) items while encoding (not on a cache hit). */
  onProgress?: (done: number, total: number) => void;
};

/** Item embeddings, row r = item id r + 1. */
export interface ItemEmbeddings {
  /** Which encoder made them. */
  encoder: EmbedConfig['encoder'];
  /** Exact encoder identity (model weights hash, options) used in the cache key. */
  encoderId: string;
  numItems: number;
  dim: number;
  /** Row-major `[numItems, dim]`. */
  data: Float32Array;
  /** True when read from the cache instead of being computed. */
  fromCache: boolean;
  /** The cache entry (`.npy`) when a cache directory was given. */
  cachePath?: string;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Identity of the encoder: changes whenever its output could change. */
export async function encoderId(cfg: EmbedConfig): Promise<string> {
  switch (cfg.encoder) {
    case 'minilm': {
      const dir = resolve(cfg.modelDir);
      const weights = ['model.safetensors', 'pytorch_model.bin'].map((f) => join(dir, f)).find((p) => existsSync(p));
      if (weights === undefined) {
        throw new EagerNativeError('EAGER_BAD_FILE', `bad file ${dir}: no model.safetensors or pytorch_model.bin (fetch the model with scripts/fetch-minilm.sh)`);
      }
      const h = createHash('sha256');
      for (const f of ['config.json', 'tokenizer.json']) {
        const p = join(dir, f);
        if (existsSync(p)) h.update(readFileSync(p));
      }
      h.update(await sha256File(weights));
      return `minilm:maxLen=${cfg.maxLen}:model=${h.digest('hex').slice(0, 16)}`;
    }
    case 'tfidf-svd':
      return `tfidf-svd:v1:dim=${cfg.tfidfDim}:seed=${cfg.seed}`;
    case 'file':
      return `file:${resolve(cfg.file ?? '')}:${cfg.fileTensor ?? ''}`;
  }
}

async function compute(cfg: EmbedConfig, texts: string[], onProgress?: (d: number, t: number) => void): Promise<{ dim: number; data: Float32Array }> {
  switch (cfg.encoder) {
    case 'minilm': {
      const enc = callNative(() => native.SentenceEncoder.load(cfg.modelDir, { maxLen: cfg.maxLen, batchSize: cfg.batchSize }));
      const data = await callNative(() => enc.encode(texts, onProgress));
      return { dim: enc.dim, data };
    }
    case 'tfidf-svd': {
      const data = await callNative(() => native.tfidfSvdAsync(texts, cfg.tfidfDim, cfg.seed));
      onProgress?.(texts.length, texts.length);
      return { dim: cfg.tfidfDim, data };
    }
    case 'file': {
      const path = cfg.file ?? '';
      const m = callNative(() => native.loadEmbeddingFile(path, cfg.fileTensor));
      if (m.rows !== texts.length) {
        throw new EagerNativeError('EAGER_BAD_FILE', `bad file ${path}: has ${m.rows} rows, the dataset has ${texts.length} items (row r must be item id r+1)`);
      }
      return { dim: m.cols, data: m.data };
    }
  }
}

/**
 * Embeds every item of a dataset (rows in item-id order). With `cacheDir`, a second call with
 * the same dataset, template and encoder reads the cached matrix instead of re-encoding.
 */
export async function embedItems(dataset: EmbedDataset, options: EmbedItemsOptions = {}): Promise<ItemEmbeddings> {
  const { template: templateIn, onProgress, ...rest } = options;
  const cfg = parseConfig(EmbedConfigSchema, rest, 'embedding config');
  const template = parseConfig(ItemTextTemplateSchema, templateIn ?? {}, 'item text template');
  const texts = itemTexts(dataset.items, template).slice(1); // row r = item id r + 1
  const numItems = texts.length;
  const id = await encoderId(cfg);
  const parts: EmbedCacheKeyParts = {
    datasetFingerprint: dataset.fingerprint ?? '',
    template,
    textsSha256: textsSha256(texts),
    encoderId: id,
  };
  // A file is already a cache of itself.
  const cacheDir = cfg.encoder === 'file' ? undefined : cfg.cacheDir;
  const key = embedCacheKey(parts);
  if (cacheDir !== undefined) {
    const hit = readEmbedCache(cacheDir, key, numItems);
    if (hit) {
      return { encoder: cfg.encoder, encoderId: id, numItems, dim: hit.dim, data: hit.data, fromCache: true, cachePath: join(cacheDir, `${key}.npy`) };
    }
  }
  const { dim, data } = await compute(cfg, texts, onProgress);
  const cachePath = cacheDir !== undefined ? writeEmbedCache(cacheDir, key, parts, numItems, dim, data) : undefined;
  return { encoder: cfg.encoder, encoderId: id, numItems, dim, data, fromCache: false, ...(cachePath ? { cachePath } : {}) };
}

/** Loads the all-MiniLM-L6-v2 encoder directly (for custom texts). */
export function loadSentenceEncoder(modelDir: string, options: { maxLen?: number; batchSize?: number } = {}): InstanceType<typeof native.SentenceEncoder> {
  return callNative(() => native.SentenceEncoder.load(modelDir, options));
}

/** `tfidf-svd` embeddings of arbitrary texts (no download), `[texts.length, dim]`. */
export function tfidfSvd(texts: string[], dim = 64, seed = 0): Float32Array {
  return callNative(() => native.tfidfSvd(texts, dim, seed));
}

/** Reads a precomputed `.npy`/`.safetensors` embedding matrix. */
export function loadEmbeddingFile(path: string, tensor?: string): { rows: number; cols: number; data: Float32Array } {
  return callNative(() => native.loadEmbeddingFile(path, tensor));
}
