/**
 * The service API: a trained run loaded once, answering recommendation requests.
 *
 * ```ts
 * const model = await Recommender.load('runs/beauty');
 * const recs = await model.recommend([12, 7, 99], { k: 10 }); // [{ item, score, title? }, ...]
 * ```
 *
 * Several runs of one catalogue can serve as one ensemble (`Recommender.loadEnsemble([...])`: each
 * run's top list, their union ranked by the sum of the runs' scores).
 *
 * Decoding runs in the native core on the libuv thread pool, so requests never block the event
 * loop; the loaded model is read-only, so any number of concurrent calls is safe and each returns
 * exactly what the same call would return alone.
 */
import { DecodeConfigSchema, type DecodeConfig } from './run/config.js';
import type { RunItems } from './run/layout.js';
import { ensembleModel } from './run/ensemble.js';
import { RunDirError } from './run/layout.js';
import { openRunModel, type OpenedRun, type OpenRunOptions } from './run/open.js';
import type { RunModel } from './run/types.js';

/** One recommended item. */
export interface RecommendedItem {
  /** Dense item id (1-based, as in the dataset's sequences). */
  item: number;
  /** The model's score (higher is better; comparable within one list). */
  score: number;
  /** The item title, when the dataset has one. */
  title?: string;
  /** The item's id in the source data (e.g. the Amazon ASIN), when known. */
  sourceId?: string;
}

/** Options of {@link Recommender.recommend}. */
export interface RecommendOptions {
  /** Number of items (default 10); clamped to the catalogue size. */
  k?: number;
  /** History items outside the catalogue: reject the request (default) or drop them. */
  unknownItems?: 'error' | 'skip';
  /** Leave the user's own history items out of the results (default false). */
  excludeHistory?: boolean;
}

/** Options of {@link Recommender.load}. */
export interface RecommenderLoadOptions extends OpenRunOptions {
  /** Beam-search settings (default: those the run was validated with). */
  decode?: Partial<DecodeConfig>;
}

/** One run of an ensemble: its directory and the training step of the loaded checkpoint. */
export interface EnsembleMemberInfo {
  runDir: string;
  step: number;
}

/** A run's decoding settings with `opts.decode` over them; a bad one is `EAGER_INVALID` naming the field. */
function decodeOf(opened: OpenedRun, opts: RecommenderLoadOptions): DecodeConfig {
  const r = DecodeConfigSchema.safeParse({ ...opened.run.config.train.eval.decode, ...opts.decode });
  if (!r.success) throw new RecommendError('EAGER_INVALID', `decode: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

/** A request error with a stable `code`. */
export class RecommendError extends Error {
  constructor(readonly code: 'EAGER_UNKNOWN_ITEM' | 'EAGER_EMPTY_HISTORY' | 'EAGER_INVALID', message: string, readonly items?: unknown[]) {
    super(message);
    this.name = 'RecommendError';
  }
}

/** A history as a request gives it: item ids, most recent last. */
export type History = readonly number[] | Uint32Array;

/** A trained EAGER model ready to serve. */
export class Recommender {
  private closed = false;

  private constructor(
    /** One run's model, or an ensemble's (`ensembleModel`). */
    private readonly model: Pick<RunModel, 'recommend' | 'dispose'>,
    /** Number of items in the catalogue (ids 1..numItems). */
    readonly numItems: number,
    /** The model's history length: longer histories keep their most recent items. */
    readonly maxHistory: number,
    /** The beam-search settings in use (an ensemble's: its first run's). */
    readonly decode: DecodeConfig,
    /** The run directory and the training step of the loaded checkpoint. */
    readonly runDir: string,
    readonly step: number,
    private readonly items: RunItems | null,
    /** The runs of an ensemble ({@link Recommender.loadEnsemble}); empty for one run. */
    readonly members: readonly EnsembleMemberInfo[] = [],
  ) {}

  /** Loads a run's best checkpoint (or `checkpoint: 'last'`). */
  static async load(runDir: string, opts: RecommenderLoadOptions = {}): Promise<Recommender> {
    const opened = await openRunModel(runDir, opts);
    return new Recommender(
      opened.model, opened.run.config.numItems, opened.run.config.maxHistory, decodeOf(opened, opts), opened.run.paths.dir,
      opened.checkpoint.step, opened.run.items,
    );
  }

  /**
   * Loads several runs of one catalogue (each at its best checkpoint, or `checkpoint: 'last'`)
   * as one ensemble: each run decodes its own top list with its own beam settings (plus
   * `opts.decode`), the union is scored by every run and ranked by the sum of their scores.
   * `runDir` and `step` are the first run's; `members` lists all.
   */
  static async loadEnsemble(runDirs: readonly string[], opts: RecommenderLoadOptions = {}): Promise<Recommender> {
    if (runDirs.length === 0) throw new RecommendError('EAGER_INVALID', 'loadEnsemble: no run directories');
    const opened: OpenedRun[] = [];
    try {
      for (const dir of runDirs) opened.push(await openRunModel(dir, opts));
      const first = opened[0]!.run;
      for (const o of opened) {
        if (o.run.config.numItems !== first.config.numItems || o.run.config.dataset.fingerprint !== first.config.dataset.fingerprint) {
          throw new RunDirError(o.run.paths.config, `was trained on another dataset or catalogue than ${first.paths.dir}: an ensemble needs one`);
        }
      }
      const members = opened.map((o) => ({ model: o.model, decode: decodeOf(o, opts) }));
      return new Recommender(
        ensembleModel(members), first.config.numItems, Math.max(...opened.map((o) => o.run.config.maxHistory)), members[0]!.decode, first.paths.dir,
        opened[0]!.checkpoint.step, first.items, opened.map((o) => ({ runDir: o.run.paths.dir, step: o.checkpoint.step })),
      );
    } catch (e) {
      for (const o of opened) o.model.dispose?.();
      throw e;
    }
  }

  /** The title of an item, when known. */
  title(item: number): string | undefined {
    return this.items?.titles[item] ?? undefined;
  }

  /** Top-k items for one history (most recent item last). */
  async recommend(history: History, opts: RecommendOptions = {}): Promise<RecommendedItem[]> {
    return (await this.decodeBatch([history], opts, false))[0]!;
  }

  /** Top-k items for each of several histories, decoded as one batch (errors name `histories[i]`). */
  async recommendBatch(histories: readonly History[], opts: RecommendOptions = {}): Promise<RecommendedItem[][]> {
    return this.decodeBatch(histories, opts, true);
  }

  private async decodeBatch(histories: readonly History[], opts: RecommendOptions, batchLabels: boolean): Promise<RecommendedItem[][]> {
    if (this.closed) throw new RecommendError('EAGER_INVALID', 'this Recommender has been closed');
    if (!Array.isArray(histories) || histories.length === 0) {
      if (Array.isArray(histories)) return [];
      throw new RecommendError('EAGER_INVALID', 'histories: expected an array of item-id arrays');
    }
    const k = this.checkK(opts.k ?? 10);
    const T = this.maxHistory;
    const B = histories.length;
    const rows = histories.map((h, b) => this.cleanHistory(h, opts.unknownItems ?? 'error', batchLabels ? `histories[${b}]` : 'history'));
    const flat = new Uint32Array(B * T);
    rows.forEach((row, b) => {
      const kept = row.slice(-T);
      flat.set(kept, b * T + T - kept.length);
    });
    // Excluding history needs that many more candidates (at most the whole catalogue).
    const extra = opts.excludeHistory ? Math.max(...rows.map((r) => new Set(r).size)) : 0;
    const want = Math.min(this.numItems, k + extra);
    const out = await this.model.recommend(flat, T, want, this.decode);
    return rows.map((row, b) => {
      const seen = opts.excludeHistory ? new Set(row) : new Set<number>();
      const list: RecommendedItem[] = [];
      for (let j = 0; j < out.k && list.length < k; j++) {
        const item = out.items[b * out.k + j]!;
        if (item === 0 || seen.has(item)) continue;
        seen.add(item);
        list.push(this.describe(item, out.scores[b * out.k + j]!));
      }
      return list;
    });
  }

  /** Releases the model; later calls are rejected. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.model.dispose?.();
  }

  private describe(item: number, score: number): RecommendedItem {
    const rec: RecommendedItem = { item, score };
    const title = this.items?.titles[item];
    if (title) rec.title = title;
    const sourceId = this.items?.sourceIds[item];
    if (sourceId) rec.sourceId = sourceId;
    return rec;
  }

  private checkK(k: unknown): number {
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) {
      throw new RecommendError('EAGER_INVALID', `k: expected a positive integer, got ${JSON.stringify(k)}`);
    }
    return Math.min(k, this.numItems);
  }

  private cleanHistory(h: History, unknown: 'error' | 'skip', label: string): number[] {
    if (!(Array.isArray(h) || h instanceof Uint32Array)) {
      throw new RecommendError('EAGER_INVALID', `${label}: expected an array of item ids, got ${typeof h}`);
    }
    const ok: number[] = [];
    const bad: unknown[] = [];
    for (const id of h as ArrayLike<unknown> as unknown[]) {
      if (typeof id === 'number' && Number.isInteger(id) && id >= 1 && id <= this.numItems) ok.push(id);
      else bad.push(id);
    }
    if (bad.length > 0 && unknown === 'error') {
      throw new RecommendError('EAGER_UNKNOWN_ITEM',
        `${label}: unknown item id(s) ${bad.slice(0, 10).map((x) => JSON.stringify(x)).join(', ')}${bad.length > 10 ? ` (+${bad.length - 10} more)` : ''}`
        + ` (the catalogue has ids 1..${this.numItems}); pass { unknownItems: 'skip' } to drop them`, bad);
    }
    if (ok.length === 0) {
      throw new RecommendError('EAGER_EMPTY_HISTORY',
        bad.length > 0 ? `${label}: no known item left after skipping ${bad.length} unknown id(s)` : `${label}: empty history; at least one item id is needed`);
    }
    return ok;
  }
}
