/**
 * The interfaces the run layer (train / eval / recommend / the service API) needs from the
 * other parts of the package: an item index (codes + pretrained embeddings, written by
 * `eager index`) and a trainable, checkpointable, decodable model. They are deliberately small,
 * so the native EAGER model plugs in through one adapter (`ts/run/backend.ts`) and tests can
 * plug in a pure-TS stand-in.
 */
import type { TrainableModel } from '../train/loop.js';

/** A dual-code table: `codes` is `[numItems, L]` row-major, row r = item r+1, every token < K. */
export interface CodeTable {
  /** Branching factor (vocabulary of one code position). */
  K: number;
  /** Code length (short paths right-padded with token 0). */
  L: number;
  codes: Uint32Array;
}

/** One stream of an index: the item embeddings and the codes clustered from them. */
export interface IndexStream {
  /** `[numItems, dim]` row-major, row r = item r+1. */
  embeddings: Float32Array;
  dim: number;
  codes: CodeTable;
}

/** What an index directory's `manifest.json` carries (at least). */
export interface IndexManifest {
  numItems: number;
  /** Fingerprint of the dataset the index was built from (compared with the training data). */
  datasetFingerprint?: string;
  [field: string]: unknown;
}

/** A loaded index directory. */
export interface LoadedIndex {
  numItems: number;
  behaviour: IndexStream;
  semantic: IndexStream;
  manifest: IndexManifest;
}

/** Reads an index directory (`eager index` output). */
export type IndexLoader = (dir: string) => Promise<LoadedIndex>;

/** Beam-search settings of one decoding call (validation, eval and serving use the same). */
export interface DecodeSettings {
  /** Beam width per stream. */
  beamWidth: number;
  /** How the two streams' candidates are merged. */
  merge: 'confidence' | 'rescore';
  /** `rescore`: weight of the semantic stream's log-likelihood (behaviour: 1); absent = 1. */
  semanticWeight?: number;
}

/** Ranked lists of a batch: `items`/`scores` are `[B, k]` row-major; missing slots are item 0. */
export interface RankedBatch {
  k: number;
  items: Uint32Array;
  scores: Float32Array;
}

/** A model the run layer can train, checkpoint and decode with. */
export interface RunModel extends TrainableModel {
  /**
   * Top-`k` distinct items for each history of a batch (`histories`: `[B, T]`, left-padded with
   * 0, most recent last), best first. Must not block the event loop, must not change the model
   * (no dropout), and concurrent calls must be safe and equal to sequential ones.
   */
  recommend(histories: Uint32Array, maxHistory: number, k: number, decode: DecodeSettings): Promise<RankedBatch>;
  /**
   * The score `recommend` ranks by (`rescore`: behaviour + weighted semantic code log-likelihood)
   * of given items per history: user u's items are `items[offsets[u]..offsets[u + 1]]`; returns
   * `[items.length]` in that order. Optional: ensembles (`ensembleModel` in `./ensemble.ts`) need it.
   */
  scoreLists?(histories: Uint32Array, maxHistory: number, items: Uint32Array, offsets: Uint32Array, decode: DecodeSettings): Promise<Float32Array>;
  /**
   * Writes the model into the (new, empty) directory `dir`: weights, and the optimiser and RNG
   * state when `withTrainingState` (what `--resume` needs to continue exactly).
   */
  save(dir: string, withTrainingState: boolean): Promise<void>;
  /** Releases native resources (optional). */
  dispose?(): void;
}

/** Creates and restores models of one kind (the native EAGER model, or a test stand-in). */
export interface ModelBackend {
  /** Stable name, recorded in the run's config.json. */
  name: string;
  /** Validates a model config (zod), returning it with defaults filled in; errors name the field. */
  parseConfig(raw: unknown): Record<string, unknown>;
  /** A freshly initialised model (all randomness from `seed`). */
  create(args: { config: Record<string, unknown>; index: LoadedIndex; seed: number; maxHistory: number }): Promise<RunModel>;
  /**
   * A model restored from a directory written by {@link RunModel.save}; with `withTrainingState`
   * the optimiser/RNG state too (resume), otherwise for inference only.
   */
  load(args: {
    dir: string; config: Record<string, unknown>; index: LoadedIndex; seed: number; maxHistory: number; withTrainingState: boolean;
  }): Promise<RunModel>;
}
