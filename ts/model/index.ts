/**
 * The native two-stream EAGER model (Rust core through napi): a typed wrapper that trains,
 * checkpoints and recommends, and the run layer's model backend ({@link eagerNativeBackend}).
 *
 * Checkpoint directory (written by {@link EagerModel.save}):
 * - `weights.safetensors`: one f32 tensor per parameter (names: {@link EagerModel.parameterNames},
 *   scheme in `crates/eager-core/src/eager/README.md`), readable by Python `safetensors`;
 * - `optimizer.safetensors` (with training state): Adam moments `adam.m.<name>`, `adam.v.<name>`
 *   and `adam.step`; the step also seeds the per-step randomness, so a resumed run continues
 *   exactly;
 * - `model.json`: format, config (defaults filled in), numItems, step, seed.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { parseConfig } from '../config/data.js';
import { callNative, native } from '../native.js';
import type { DecodeSettings, LoadedIndex, ModelBackend, RankedBatch, RunModel, IndexStream } from '../run/types.js';
import type { TrainBatch } from '../train/batcher.js';
import { writeJsonAtomic } from '../util/fs.js';
import { EagerConfigSchema, type EagerConfig, type EagerConfigInput } from './config.js';

export * from './config.js';

// CANDLE_NUM_THREADS is set to 1 in ts/native.ts before the addon loads (see there).

type NativeModel = InstanceType<typeof native.EagerModel>;

/** One stream's inputs: codes `[numItems, L]` (tokens < K) and pretrained embeddings `[numItems, dim]`. */
export interface EagerStreamInput {
  K: number;
  L: number;
  codes: Uint32Array;
  embeddings?: Float32Array;
  dim?: number;
}

/** Arguments of {@link EagerModel.create}. */
export interface EagerCreateArgs {
  config?: EagerConfigInput;
  numItems: number;
  behaviour?: EagerStreamInput;
  semantic?: EagerStreamInput;
  seed: number;
}

const MODEL_FORMAT = 'eager-model';
const MODEL_VERSION = 1;

function streamData(s: EagerStreamInput | undefined) {
  if (!s) return null;
  return { k: s.K, length: s.L, codes: s.codes, embeddings: s.embeddings, dim: s.dim };
}

function fromIndex(s: IndexStream): EagerStreamInput {
  return { K: s.codes.K, L: s.codes.L, codes: s.codes.codes, embeddings: s.embeddings, dim: s.dim };
}

/** Loss parts of a step as a plain record (absent parts are left out). */
function lossRecord(r: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(r)) if (typeof v === 'number') out[k] = v;
  return out;
}

/** The EAGER model with its optimiser. */
export class EagerModel implements RunModel {
  private constructor(
    private readonly inner: NativeModel,
    /** The validated config (defaults filled in). */
    readonly config: EagerConfig,
    readonly numItems: number,
    private readonly seed: number,
  ) {}

  /** A freshly initialised model (all randomness from `seed`). */
  static create(args: EagerCreateArgs): EagerModel {
    const config = parseConfig(EagerConfigSchema, args.config ?? {}, 'model config');
    if (!Number.isInteger(args.seed) || args.seed < 0 || args.seed > 0xffffffff) {
      throw new RangeError(`seed must be an integer in [0, 2^32), got ${args.seed}`);
    }
    const inner = callNative(
      () =>
        new native.EagerModel(
          JSON.stringify(config),
          args.numItems,
          config.streams.behaviour ? streamData(args.behaviour) : null,
          config.streams.semantic ? streamData(args.semantic) : null,
          args.seed,
        ),
    );
    return new EagerModel(inner, config, args.numItems, args.seed);
  }

  /**
   * A model restored from a directory written by {@link EagerModel.save}; `withTrainingState`
   * also restores the optimiser (and so the step count and per-step randomness).
   */
  static load(args: Omit<EagerCreateArgs, 'config' | 'seed'> & { dir: string; withTrainingState: boolean }): EagerModel {
    const metaPath = join(args.dir, 'model.json');
    let meta: { format?: string; version?: number; config?: unknown; seed?: number; numItems?: number };
    try {
      meta = JSON.parse(readFileSync(metaPath, 'utf8')) as typeof meta;
    } catch (e) {
      const err = new Error(`cannot read ${metaPath}: ${(e as Error).message}`) as Error & { code: string };
      err.code = 'EAGER_BAD_FILE';
      throw err;
    }
    if (meta.format !== MODEL_FORMAT || meta.version !== MODEL_VERSION) {
      const err = new Error(`${metaPath}: not an ${MODEL_FORMAT} v${MODEL_VERSION} file`) as Error & { code: string };
      err.code = 'EAGER_BAD_FILE';
      throw err;
    }
    if (meta.numItems !== undefined && meta.numItems !== args.numItems) {
      const err = new Error(`${metaPath}: model has ${meta.numItems} items, the index ${args.numItems}`) as Error & { code: string };
      err.code = 'EAGER_BAD_FILE';
      throw err;
    }
    const model = EagerModel.create({ ...args, config: meta.config as EagerConfigInput, seed: meta.seed ?? 0 });
    const opt = join(args.dir, 'optimizer.safetensors');
    if (args.withTrainingState && !existsSync(opt)) {
      const err = new Error(`${opt} is missing: the checkpoint has no training state`) as Error & { code: string };
      err.code = 'EAGER_BAD_FILE';
      throw err;
    }
    callNative(() => model.inner.loadCheckpoint(join(args.dir, 'weights.safetensors'), args.withTrainingState ? opt : null));
    return model;
  }

  /** Optimiser steps taken. */
  get step(): number {
    return this.inner.step;
  }

  /** Trainable scalars. */
  get numParameters(): number {
    return this.inner.numParameters;
  }

  /** Parameter (safetensors tensor) names in order. */
  parameterNames(): string[] {
    return callNative(() => this.inner.parameterNames());
  }

  setLearningRate(lr: number): void {
    callNative(() => this.inner.setLearningRate(lr));
  }

  /** One training step off the event loop; resolves to the loss parts (`total`, `gradNorm`, ...). */
  async trainStep(batch: TrainBatch): Promise<Record<string, number>> {
    const r = await callNative(() => this.inner.trainStep(batch.histories, batch.targets, batch.maxHistory));
    return lossRecord(r as unknown as Record<string, unknown>);
  }

  /** One training step on the calling thread. */
  trainStepSync(batch: TrainBatch): Record<string, number> {
    return lossRecord(callNative(() => this.inner.trainStepSync(batch.histories, batch.targets, batch.maxHistory)) as unknown as Record<string, unknown>);
  }

  /** Loss parts of a batch without dropout or update. */
  evaluateLoss(batch: TrainBatch): Record<string, number> {
    return lossRecord(callNative(() => this.inner.evaluateLoss(batch.histories, batch.targets, batch.maxHistory)) as unknown as Record<string, unknown>);
  }

  /**
   * Top-`k` distinct items per history (`histories` `[B, maxHistory]` left-padded with 0, most
   * recent last), off the event loop; read-only, so concurrent calls are safe.
   */
  async recommend(histories: Uint32Array, maxHistory: number, k: number, decode: DecodeSettings): Promise<RankedBatch> {
    const r = await callNative(() =>
      this.inner.recommend(histories, maxHistory, k, nativeDecode(decode)),
    );
    return { k: r.k, items: r.items, scores: r.scores };
  }

  /** {@link EagerModel.recommend} on the calling thread. */
  recommendSync(histories: Uint32Array, maxHistory: number, k: number, decode: DecodeSettings): RankedBatch {
    const r = callNative(() => this.inner.recommendSync(histories, maxHistory, k, nativeDecode(decode)));
    return { k: r.k, items: r.items, scores: r.scores };
  }

  /**
   * The `rescore` score (behaviour + `decode.semanticWeight` · semantic code log-likelihood) of
   * given items per history, off the event loop: user u's items are
   * `items[offsets[u]..offsets[u + 1]]` (ids in `1..=numItems`); `[items.length]` in that order.
   */
  async scoreLists(histories: Uint32Array, maxHistory: number, items: Uint32Array, offsets: Uint32Array, decode: DecodeSettings): Promise<Float32Array> {
    return callNative(() =>
      this.inner.scoreLists(histories, maxHistory, items, offsets, { semanticWeight: decode.semanticWeight ?? 1 }),
    );
  }

  /** Code log-likelihood of every item in one stream for one history (exhaustive scoring). */
  scoreAll(stream: 'behaviour' | 'semantic', history: Uint32Array): Float32Array {
    return callNative(() => this.inner.scoreAll(stream, history));
  }

  /** Writes weights (+ optimiser state) and `model.json` into `dir` (created if needed). */
  async save(dir: string, withTrainingState: boolean): Promise<void> {
    mkdirSync(dir, { recursive: true });
    callNative(() =>
      this.inner.saveCheckpoint(join(dir, 'weights.safetensors'), withTrainingState ? join(dir, 'optimizer.safetensors') : null),
    );
    writeJsonAtomic(join(dir, 'model.json'), {
      format: MODEL_FORMAT,
      version: MODEL_VERSION,
      config: this.config,
      numItems: this.numItems,
      step: this.step,
      seed: this.seed,
      files: { weights: 'weights.safetensors', optimizer: withTrainingState ? 'optimizer.safetensors' : null },
    });
  }
}

/** The run layer's backend for the native EAGER model. */
export const eagerNativeBackend: ModelBackend = {
  name: 'eager-native',
  parseConfig(raw: unknown): Record<string, unknown> {
    return parseConfig(EagerConfigSchema, raw, 'model config') as unknown as Record<string, unknown>;
  },
  async create({ config, index, seed, maxHistory }) {
    return EagerModel.create({
      config: { ...(config as EagerConfigInput), maxHistory },
      numItems: index.numItems,
      behaviour: fromIndex(index.behaviour),
      semantic: fromIndex(index.semantic),
      seed,
    });
  },
  async load({ dir, index, withTrainingState }: { dir: string; index: LoadedIndex; withTrainingState: boolean }) {
    return EagerModel.load({
      dir,
      numItems: index.numItems,
      behaviour: fromIndex(index.behaviour),
      semantic: fromIndex(index.semantic),
      withTrainingState,
    });
  },
};

/** The native binding's decoding options for `decode`. */
function nativeDecode(decode: DecodeSettings): { beam: number; merge: string; semanticWeight?: number } {
  return { beam: decode.beamWidth, merge: decode.merge, semanticWeight: decode.semanticWeight };
}
