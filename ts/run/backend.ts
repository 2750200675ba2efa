/**
 * The default model backend and index loader of the run layer (the native EAGER model and the
 * `eager index` reader). Everything that needs them takes them as optional dependencies, so
 * tests can pass a pure-TS stand-in instead.
 */
import type { LeaveOneOutSplit } from '../data/split.js';
import type { Dataset } from '../data/types.js';
import type { IndexLoader, LoadedIndex, ModelBackend } from './types.js';

/**
 * Builds an index in memory without downloads (the demo): behaviour embeddings from the
 * training part, semantic embeddings from the item text (tfidf-svd), codes by hierarchical k-means.
 */
export type InMemoryIndexBuilder = (dataset: Dataset, split: LeaveOneOutSplit, seed: number) => Promise<LoadedIndex>;

/** Optional dependencies of the run commands and the service API. */
export interface RunDeps {
  backend?: ModelBackend;
  loadIndex?: IndexLoader;
}

/** Error for a part of the package that is not available in this build. */
export class NotAvailableError extends Error {
  readonly code = 'EAGER_NOT_AVAILABLE';
  constructor(message: string) {
    super(message);
    this.name = 'NotAvailableError';
  }
}

/** The native EAGER model backend (`ts/model`). */
export async function defaultBackend(): Promise<ModelBackend> {
  const { native } = await import('../native.js');
  if (!(native as { EagerModel?: unknown }).EagerModel) {
    throw new NotAvailableError('this build of the native addon has no EagerModel: rebuild it with `npm run build:native`');
  }
  return (await import('../model/index.js')).eagerNativeBackend;
}

/** The reader of `eager index` output directories. */
export async function defaultIndexLoader(): Promise<IndexLoader> {
  return (await import('../indexing/build.js')).loadIndex;
}

/** The demo's no-download index builder (SASRec behaviour + tfidf-svd semantic embeddings). */
export async function defaultDemoIndexBuilder(): Promise<InMemoryIndexBuilder> {
  const { buildDemoIndex } = await import('../indexing/demo.js');
  return (ds, split, seed) => buildDemoIndex(ds, split, seed);
}

/** Fills in the defaults of `deps`. */
export async function resolveDeps(deps: RunDeps = {}): Promise<Required<RunDeps>> {
  return {
    backend: deps.backend ?? (await defaultBackend()),
    // Resolved on first use: an in-memory index (the demo) never needs the reader.
    loadIndex: deps.loadIndex ?? (async (dir: string) => (await defaultIndexLoader())(dir)),
  };
}
